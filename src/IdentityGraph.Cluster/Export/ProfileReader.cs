using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Export;

/// <summary>
/// Reads every profile's current state straight from the journal: one pass over the events tagged "profile", folded
/// with the same <see cref="ProfileDecider.Apply"/> the entities use. Needs no cluster, so export works beside a
/// running node (SQLite in WAL mode allows readers alongside the writer).
/// </summary>
public static class ProfileReader
{
    /// <summary>The state of every profile that has events, by profile id.</summary>
    public static async Task<IReadOnlyDictionary<string, ProfileState>> ReadAllAsync(ActorSystem system, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(system);
        var journal = await ProfileJournal.ReadJournalAsync(system, cancellationToken);
        var states = new Dictionary<string, ProfileState>(StringComparer.Ordinal);
        await journal.CurrentEventsByTag(PersistenceHocon.ProfileTag, Offset.NoOffset())
            .RunForeach(
                envelope =>
                {
                    if (ProfileJournal.TryRead(envelope, out var id, out var domainEvent))
                    {
                        var profileId = id.ToString();
                        states[profileId] = ProfileDecider.Apply(states.GetValueOrDefault(profileId, ProfileState.Empty), domainEvent);
                    }
                },
                system.Materializer())
            .WaitAsync(cancellationToken);
        return states;
    }
}
