using System.Collections.Concurrent;
using Akka.Actor;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Persistence;

/// <summary>
/// Node-local and bounded in bytes: the last state of profiles this node passivated, serialised, so that the next
/// activation of such a profile reads it from here instead of the database (docs/architecture.md › What a returning
/// profile costs). Past <c>MaxActiveProfiles</c> a node passivates the least recently used profile, and over a long
/// stream most repeat visits found their profile passivated: each recovery cost a snapshot read, a highest-sequence-number
/// read and a replay, three transactions.
/// </summary>
/// <remarks>
/// Safe because a profile entity passivates only once every write it made is durable, so its state at sequence number
/// N is the durable state at N, and events are never rewritten: a state at N stays right for ever. Whether something
/// newer was written depends on where the profile lived since: when it comes back in the same incarnation of its shard
/// (the shard actor that passivated it is its parent again), no other node can have hosted it meanwhile — sharding
/// hands a shard to another node only after its actor here stopped — so N is also its highest sequence number and the
/// recovery reads nothing from the database. Otherwise the journal reads the highest sequence number and replays
/// anything newer (one query instead of three transactions). Should a profile ever be written elsewhere regardless,
/// its next write here reuses a sequence number, the journal's unique index refuses it and the entity stops and
/// recovers from the database. An entry is taken out by the activation that uses it (the running entity owns the
/// state again) and dropped when it no longer fits; a miss only means the usual recovery from the database.
/// </remarks>
public sealed class PassivatedProfiles : IExtension
{
    /// <summary>
    /// Bytes counted per entry beside its serialised state, for the key, the entry and its list node. An estimate on the
    /// low side (they take about 250 bytes with the dictionary's headroom): the budget bounds the states, not the heap.
    /// </summary>
    internal const int EntryOverhead = 160;

    private readonly Lock gate = new();
    private readonly Dictionary<string, LinkedListNode<CachedProfileState>> entries = new(StringComparer.Ordinal);
    private readonly LinkedList<CachedProfileState> leastRecentFirst = [];
    private readonly ConcurrentDictionary<string, long> knownHighest = new(StringComparer.Ordinal);
    private long budget;
    private long bytes;
    private long hits;
    private long evicted;
    private long recoveriesWithoutReads;

    /// <summary>The cache of <paramref name="system"/>.</summary>
    public static PassivatedProfiles Get(ActorSystem system) => system.WithExtension<PassivatedProfiles, PassivatedProfilesProvider>();

    /// <summary>Profiles held.</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return entries.Count;
            }
        }
    }

    /// <summary>Bytes held (states and per-entry overhead), at most the budget.</summary>
    public long Bytes => Interlocked.Read(ref bytes);

    /// <summary>Activations that recovered from here instead of a snapshot read, since start.</summary>
    public long Hits => Interlocked.Read(ref hits);

    /// <summary>Hits whose profile came back to the shard that kept it: recovered without any database read, since start.</summary>
    public long RecoveriesWithoutReads => Interlocked.Read(ref recoveriesWithoutReads);

    /// <summary>States dropped to stay within the budget, since start.</summary>
    public long Evicted => Interlocked.Read(ref evicted);

    /// <summary>Sets the most bytes held; 0 turns the cache off (and empties it).</summary>
    public void Budget(long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        lock (gate)
        {
            budget = maxBytes;
            EvictToFit(0);
        }
    }

    /// <summary>Forgets <paramref name="persistenceId"/>'s state (a profile whose history is rewritten must not come back from here).</summary>
    public void Forget(string persistenceId)
    {
        knownHighest.TryRemove(persistenceId, out _);
        lock (gate)
        {
            if (entries.Remove(persistenceId, out var node))
            {
                Unlink(node);
            }
        }
    }

    /// <summary>
    /// Keeps the state of a profile that is passivating with every write durable: <paramref name="snapshot"/> is its state
    /// at <paramref name="sequenceNr"/>; <paramref name="storedSnapshotAt"/> the sequence number of its latest snapshot in
    /// the database (so that the next incarnation keeps saving snapshots on schedule).
    /// </summary>
    internal void Keep(string persistenceId, long sequenceNr, long storedSnapshotAt, ProfileSnapshotData snapshot, IActorRef? shard = null)
    {
        if (Interlocked.Read(ref budget) == 0 || sequenceNr <= 0)
        {
            return;
        }

        var state = new CachedProfileState(persistenceId, sequenceNr, storedSnapshotAt, Google.Protobuf.MessageExtensions.ToByteArray(snapshot))
        {
            Shard = shard,
        };
        lock (gate)
        {
            if (entries.Remove(persistenceId, out var old))
            {
                Unlink(old);
            }

            if (state.Size > budget)
            {
                return;
            }

            EvictToFit(state.Size);
            entries[persistenceId] = leastRecentFirst.AddLast(state);
            bytes += state.Size;
        }
    }

    /// <summary>The kept state of <paramref name="persistenceId"/>, left in place (for tests and diagnostics).</summary>
    internal CachedProfileState? Peek(string persistenceId)
    {
        lock (gate)
        {
            return entries.TryGetValue(persistenceId, out var node) ? node.Value : null;
        }
    }

    /// <summary>
    /// A profile entity is starting under <paramref name="shard"/>: its kept state, if any, is complete (nothing newer can
    /// exist) exactly when the same shard actor kept it.
    /// </summary>
    internal void Activating(string persistenceId, IActorRef shard)
    {
        // A mark an earlier activation left unconsumed (its recovery stopped half-way) must not answer for this one.
        knownHighest.TryRemove(persistenceId, out _);
        lock (gate)
        {
            if (entries.TryGetValue(persistenceId, out var node))
            {
                node.Value = node.Value with { Complete = node.Value.Shard is not null && node.Value.Shard.Equals(shard) };
            }
        }
    }

    /// <summary>
    /// The highest sequence number of a profile whose recovery just took a complete kept state (consumed: the journal
    /// asks once per recovery, after the snapshot store).
    /// </summary>
    internal bool TryConsumeHighest(string persistenceId, out long sequenceNr)
    {
        if (!knownHighest.TryRemove(persistenceId, out sequenceNr))
        {
            return false;
        }

        Interlocked.Increment(ref recoveriesWithoutReads);
        return true;
    }

    /// <summary>Takes the kept state of <paramref name="persistenceId"/> out, when there is one at or below <paramref name="maxSequenceNr"/>.</summary>
    internal CachedProfileState? Take(string persistenceId, long maxSequenceNr)
    {
        CachedProfileState kept;
        lock (gate)
        {
            if (!entries.Remove(persistenceId, out var node))
            {
                return null;
            }

            Unlink(node);
            kept = node.Value;
        }

        if (kept.SequenceNr > maxSequenceNr)
        {
            return null;
        }

        if (kept.Complete)
        {
            knownHighest[persistenceId] = kept.SequenceNr;
        }

        Interlocked.Increment(ref hits);
        return kept;
    }

    private void EvictToFit(long incoming)
    {
        while (bytes + incoming > budget && leastRecentFirst.First is { } oldest)
        {
            entries.Remove(oldest.Value.PersistenceId);
            Unlink(oldest);
            Interlocked.Increment(ref evicted);
        }
    }

    private void Unlink(LinkedListNode<CachedProfileState> node)
    {
        leastRecentFirst.Remove(node);
        bytes -= node.Value.Size;
    }
}

/// <summary>
/// A passivated profile's durable state at <see cref="SequenceNr"/>, serialised; offered to the entity as its recovery
/// snapshot (in-process only, never sent over the wire or stored).
/// </summary>
internal sealed record CachedProfileState(string PersistenceId, long SequenceNr, long StoredSnapshotAt, byte[] State)
{
    /// <summary>The shard actor whose entity kept it.</summary>
    public IActorRef? Shard { get; init; }

    /// <summary>Nothing newer than <see cref="SequenceNr"/> can exist (see <see cref="PassivatedProfiles.Activating"/>).</summary>
    public bool Complete { get; init; }

    public long Size => State.Length + PassivatedProfiles.EntryOverhead;

    public ProfileSnapshotData Snapshot() => ProfileSnapshotData.Parser.ParseFrom(State);
}

internal sealed class PassivatedProfilesProvider : ExtensionIdProvider<PassivatedProfiles>
{
    public override PassivatedProfiles CreateExtension(ExtendedActorSystem system) => new();
}
