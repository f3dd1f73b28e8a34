using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Export;

/// <summary>
/// Reads every profile's current state straight from the journal: one pass over the profile slices' events (tagged
/// "profile"), folding each change's domain event with the same <see cref="ProfileDecider.Apply"/> the slices use. Needs no cluster, so export works beside a
/// running node (SQLite in WAL mode allows readers alongside the writer).
/// </summary>
public static class ProfileReader
{
    /// <summary>The state of every profile that has events, by profile id.</summary>
    public static async Task<IReadOnlyDictionary<string, ProfileState>> ReadAllAsync(ActorSystem system, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(system);
        var journal = await ProfileJournal.ReadJournalAsync(system, cancellationToken);
        // A profile's changes are all in its slice's events, in order: folding them gives its current state.
        var states = new Dictionary<string, ProfileState>(StringComparer.Ordinal);
        await journal.CurrentEventsByTag(PersistenceHocon.ProfileTag, Offset.NoOffset())
            .RunForeach(
                envelope =>
                {
                    foreach (var change in ProfileJournal.Changes(envelope))
                    {
                        states[change.ProfileId] = ProfileDecider.Apply(
                            states.GetValueOrDefault(change.ProfileId, ProfileState.Empty), WireMapping.DomainEventOf(change));
                    }
                },
                system.Materializer())
            .WaitAsync(cancellationToken);
        return states;
    }
}
