using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Google.Protobuf;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Export;

/// <summary>
/// Reads every profile's current state straight from the journal: one pass over the profile slices' events (tagged
/// "profile"), each of which carries the states it wrote. Needs no cluster, so export works beside a
/// running node (SQLite in WAL mode allows readers alongside the writer).
/// </summary>
public static class ProfileReader
{
    /// <summary>The state of every profile that has events, by profile id.</summary>
    public static async Task<IReadOnlyDictionary<string, ProfileState>> ReadAllAsync(ActorSystem system, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(system);
        var journal = await ProfileJournal.ReadJournalAsync(system, cancellationToken);
        // Every change carries the profile's whole state: the last one read is the current state (decoded once, at the end).
        var latest = new Dictionary<string, ByteString>(StringComparer.Ordinal);
        await journal.CurrentEventsByTag(PersistenceHocon.ProfileTag, Offset.NoOffset())
            .RunForeach(
                envelope =>
                {
                    foreach (var change in ProfileJournal.Changes(envelope))
                    {
                        latest[change.ProfileId] = change.State;
                    }
                },
                system.Materializer())
            .WaitAsync(cancellationToken);
        return latest.ToDictionary(p => p.Key, p => ProfileJournal.StateOf(p.Value), StringComparer.Ordinal);
    }
}
