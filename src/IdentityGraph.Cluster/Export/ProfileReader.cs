using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Serialization;
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
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(PersistenceHocon.QueryPluginId);
        var states = new Dictionary<string, ProfileState>(StringComparer.Ordinal);
        await journal.CurrentEventsByTag(PersistenceHocon.ProfileTag, Offset.NoOffset())
            .RunForeach(
                envelope =>
                {
                    if (!WireMapping.TryFromWire(envelope.Event, out var domainEvent))
                    {
                        return;
                    }

                    var profileId = envelope.PersistenceId[(Entities.ProfileEntity.TypeName.Length + 1)..];
                    states[profileId] = ProfileDecider.Apply(states.GetValueOrDefault(profileId, ProfileState.Empty), domainEvent);
                },
                system.Materializer())
            .WaitAsync(cancellationToken);
        return states;
    }
}
