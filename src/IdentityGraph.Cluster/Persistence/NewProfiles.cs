using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;
using Akka.Persistence.Sql.Snapshot;

namespace IdentityGraph.Cluster.Persistence;

/// <summary>
/// Node-local: the persistence ids of profiles that the resolver knows have never been written, so that their first
/// activation recovers from nothing instead of asking the database (docs/architecture.md › What a new profile costs).
/// Akka.Persistence recovers every activated entity with a snapshot read and a highest-sequence-number read; for a new
/// profile — about one in two observations of a first-visit stream — both find nothing.
/// </summary>
/// <remarks>
/// The resolver marks a profile new only when one of its claims took an unowned identifier of a component that had no
/// owned identifier at all (<see cref="Core.Index.IndexAnswer.Changed"/>): a profile id is derived from its first
/// observation's id and identifiers, a profile is written only after its claims are durable, and claimed identifiers
/// never become unowned, so such a profile cannot have events. Should that reasoning ever fail, nothing is corrupted:
/// the profile's first write reuses sequence number 1, the journal's unique (persistence_id, sequence_number) index
/// refuses it, the entity stops, and the re-sent command recovers it from the database. A mark is used by one
/// activation at most (the journal consumes it) and the resolver drops it when its command is answered, so a later
/// activation always reads the database. Profiles hosted on another node do not see this node's marks and recover as
/// usual.
/// </remarks>
public sealed class NewProfiles : IExtension
{
    private readonly ConcurrentDictionary<string, byte> marked = new(StringComparer.Ordinal);
    private long recoveriesSkipped;

    /// <summary>The registry of <paramref name="system"/>.</summary>
    public static NewProfiles Get(ActorSystem system) => system.WithExtension<NewProfiles, NewProfilesProvider>();

    /// <summary>Profiles marked and not yet consumed or dropped.</summary>
    public int Count => marked.Count;

    /// <summary>Activations that recovered from nothing instead of reading the database, since start.</summary>
    public long RecoveriesSkipped => Interlocked.Read(ref recoveriesSkipped);

    /// <summary>Marks <paramref name="persistenceId"/> as never written.</summary>
    public void Mark(string persistenceId) => marked.TryAdd(persistenceId, 0);

    /// <summary>Drops a mark that no activation used (the profile lives on another node, or was already active).</summary>
    public void Drop(string persistenceId) => marked.TryRemove(persistenceId, out _);

    internal bool IsMarked(string persistenceId) => marked.ContainsKey(persistenceId);

    internal bool Consume(string persistenceId)
    {
        if (!marked.TryRemove(persistenceId, out _))
        {
            return false;
        }

        Interlocked.Increment(ref recoveriesSkipped);
        return true;
    }
}

internal sealed class NewProfilesProvider : ExtensionIdProvider<NewProfiles>
{
    public override NewProfiles CreateExtension(ExtendedActorSystem system) => new();
}

/// <summary>
/// The SQL journal, answering "highest sequence number 0" for a profile marked new (<see cref="NewProfiles"/>) and the
/// kept state's sequence number for a passivated profile back in the same shard (<see cref="PassivatedProfiles"/>).
/// </summary>
/// <remarks>Recovery asks the snapshot store first and the journal second, so the journal consumes the mark.</remarks>
public sealed class GraphSqlJournal(Config journalConfig) : SqlWriteJournal(journalConfig)
{
    private readonly NewProfiles newProfiles = NewProfiles.Get(Context.System);
    private readonly PassivatedProfiles passivated = PassivatedProfiles.Get(Context.System);

    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        if (newProfiles.Consume(persistenceId))
        {
            return Task.FromResult(0L);
        }

        return passivated.TryConsumeHighest(persistenceId, out var highest)
            ? Task.FromResult(highest)
            : base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
    }
}

/// <summary>
/// The SQL snapshot store, answering "no snapshot" for a profile marked new (<see cref="NewProfiles"/>) and a passivated
/// profile's kept state from <see cref="PassivatedProfiles"/> when this node has it.
/// </summary>
public sealed class GraphSqlSnapshotStore(Config snapshotConfig) : SqlSnapshotStore(snapshotConfig)
{
    private readonly NewProfiles newProfiles = NewProfiles.Get(Context.System);
    private readonly PassivatedProfiles passivated = PassivatedProfiles.Get(Context.System);

    protected override Task<SelectedSnapshot?> LoadAsync(
        string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        if (newProfiles.IsMarked(persistenceId))
        {
            return Task.FromResult<SelectedSnapshot?>(null);
        }

        if (passivated.Take(persistenceId, criteria.MaxSequenceNr) is { } kept)
        {
            return Task.FromResult<SelectedSnapshot?>(
                new SelectedSnapshot(new SnapshotMetadata(persistenceId, kept.SequenceNr, DateTime.UtcNow), kept));
        }

        return base.LoadAsync(persistenceId, criteria, cancellationToken);
    }
}
