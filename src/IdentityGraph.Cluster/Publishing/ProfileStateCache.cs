using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Publishing;

/// <summary>
/// The latest state the projection has built per profile, with the sequence number it is at; least recently used
/// entries are evicted beyond the capacity. Not thread-safe: the projection uses it from one stage.
/// </summary>
public sealed class ProfileStateCache(int capacity)
{
    private readonly Dictionary<string, LinkedListNode<Entry>> entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> recency = new();

    public int Count => entries.Count;

    /// <summary>The state of <paramref name="persistenceId"/> at exactly <paramref name="sequenceNr"/>, if cached.</summary>
    public ProfileState? Get(string persistenceId, long sequenceNr)
    {
        if (!entries.TryGetValue(persistenceId, out var node) || node.Value.SequenceNr != sequenceNr)
        {
            return null;
        }

        recency.Remove(node);
        recency.AddFirst(node);
        return node.Value.State;
    }

    public void Put(string persistenceId, long sequenceNr, ProfileState state)
    {
        if (capacity == 0)
        {
            return;
        }

        if (entries.TryGetValue(persistenceId, out var node))
        {
            recency.Remove(node);
        }

        node = recency.AddFirst(new Entry(persistenceId, sequenceNr, state));
        entries[persistenceId] = node;
        if (entries.Count > capacity)
        {
            var last = recency.Last!;
            recency.RemoveLast();
            entries.Remove(last.Value.PersistenceId);
        }
    }

    public void Clear()
    {
        entries.Clear();
        recency.Clear();
    }

    private sealed record Entry(string PersistenceId, long SequenceNr, ProfileState State);
}
