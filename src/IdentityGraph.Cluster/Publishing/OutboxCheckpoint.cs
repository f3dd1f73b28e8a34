using Akka.Actor;
using Akka.Persistence;
using IdentityGraph.Cluster.Persistence;

namespace IdentityGraph.Cluster.Publishing;

/// <summary>
/// Where the outbox projection has published up to: the journal ordering of the last delivered event, kept in the
/// graph's own snapshot store (same database, both backends), so it survives restarts without another table.
/// Each save is a new snapshot numbered by the offset; older ones are deleted.
/// </summary>
public sealed class OutboxCheckpoint(ActorSystem system, string name, TimeSpan timeout)
{
    private readonly IActorRef store = Akka.Persistence.Persistence.Instance.Apply(system).SnapshotStoreFor(PersistenceHocon.SnapshotPluginId);

    /// <summary>The snapshot store's persistence id for this checkpoint.</summary>
    public string PersistenceId { get; } = "outbox-" + name;

    /// <summary>The last delivered offset, or 0 when nothing was published yet.</summary>
    public async Task<long> LoadAsync(CancellationToken cancellationToken = default)
    {
        var reply = await store.Ask<object>(new LoadSnapshot(PersistenceId, SnapshotSelectionCriteria.Latest, long.MaxValue), timeout, cancellationToken);
        return reply switch
        {
            LoadSnapshotResult { Snapshot: { } selected } => Convert.ToInt64(selected.Snapshot, System.Globalization.CultureInfo.InvariantCulture),
            LoadSnapshotResult => 0,
            LoadSnapshotFailed failed => throw new InvalidOperationException("Loading the outbox checkpoint failed.", failed.Cause),
            _ => throw new InvalidOperationException($"Unexpected reply {reply.GetType().Name} from the snapshot store."),
        };
    }

    /// <summary>Records that everything up to <paramref name="offset"/> is delivered.</summary>
    public async Task SaveAsync(long offset, CancellationToken cancellationToken = default)
    {
        var metadata = new SnapshotMetadata(PersistenceId, offset, DateTime.UtcNow);
        var reply = await store.Ask<object>(new SaveSnapshot(metadata, offset), timeout, cancellationToken);
        if (reply is SaveSnapshotFailure failure)
        {
            throw new InvalidOperationException("Saving the outbox checkpoint failed.", failure.Cause);
        }

        // Housekeeping only: a failed delete leaves an old row behind, never a wrong checkpoint.
        store.Tell(new DeleteSnapshots(PersistenceId, new SnapshotSelectionCriteria(offset - 1)), ActorRefs.NoSender);
    }
}
