using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Core.Resolution;

/// <summary>
/// The oracle: an in-memory union-find over identifier keys. Every observation links its identifiers; the connected
/// components are the profiles the graph must end up with. Tests compare the distributed graph with it, and the
/// benchmarks use it as the speed of light.
/// </summary>
public sealed class ReferenceResolver
{
    private readonly Dictionary<IdentifierKey, int> indexOf = [];
    private readonly List<IdentifierKey> keys = [];
    private int[] parent = new int[16];
    private int[] size = new int[16];

    /// <summary>Identifiers seen so far.</summary>
    public int Count => keys.Count;

    public void Add(NormalizedObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        Link(observation.Identifiers.Select(i => i.Key));
    }

    /// <summary>Puts all <paramref name="linked"/> keys into one component.</summary>
    public void Link(IEnumerable<IdentifierKey> linked)
    {
        ArgumentNullException.ThrowIfNull(linked);
        var first = -1;
        foreach (var key in linked)
        {
            var index = IndexOf(key);
            if (first < 0)
            {
                first = index;
            }
            else
            {
                Union(first, index);
            }
        }
    }

    /// <summary>The components, each a list of keys.</summary>
    public IReadOnlyList<IReadOnlyList<IdentifierKey>> Partition()
    {
        var groups = new Dictionary<int, List<IdentifierKey>>();
        for (var i = 0; i < keys.Count; i++)
        {
            var root = Find(i);
            if (!groups.TryGetValue(root, out var group))
            {
                groups[root] = group = [];
            }

            group.Add(keys[i]);
        }

        return [.. groups.Values];
    }

    /// <summary>Whether two keys are in the same component.</summary>
    public bool Connected(IdentifierKey a, IdentifierKey b) =>
        indexOf.TryGetValue(a, out var i) && indexOf.TryGetValue(b, out var j) && Find(i) == Find(j);

    /// <summary>
    /// A canonical form of a partition, comparable with <c>Assert.Equal</c> or <see cref="Enumerable.SequenceEqual{T}(IEnumerable{T}, IEnumerable{T})"/>:
    /// each group sorted, groups ordered by their first key.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<string>> Canonicalize(IEnumerable<IEnumerable<IdentifierKey>> partition) =>
    [
        .. partition
            .Select(g => (IReadOnlyList<string>)[.. g.Select(k => k.Value).Distinct().Order(StringComparer.Ordinal)])
            .Where(g => g.Count > 0)
            .OrderBy(g => g[0], StringComparer.Ordinal),
    ];

    /// <summary>Whether two partitions are the same.</summary>
    public static bool SamePartition(IEnumerable<IEnumerable<IdentifierKey>> a, IEnumerable<IEnumerable<IdentifierKey>> b)
    {
        var x = Canonicalize(a);
        var y = Canonicalize(b);
        return x.Count == y.Count && x.Zip(y).All(p => p.First.SequenceEqual(p.Second));
    }

    private int IndexOf(IdentifierKey key)
    {
        if (indexOf.TryGetValue(key, out var index))
        {
            return index;
        }

        index = keys.Count;
        if (index == parent.Length)
        {
            Array.Resize(ref parent, index * 2);
            Array.Resize(ref size, index * 2);
        }

        parent[index] = index;
        size[index] = 1;
        keys.Add(key);
        indexOf[key] = index;
        return index;
    }

    private int Find(int i)
    {
        var root = i;
        while (parent[root] != root)
        {
            root = parent[root];
        }

        // Path compression: point everything on the way straight at the root.
        while (parent[i] != root)
        {
            (parent[i], i) = (root, parent[i]);
        }

        return root;
    }

    private void Union(int a, int b)
    {
        var ra = Find(a);
        var rb = Find(b);
        if (ra == rb)
        {
            return;
        }

        if (size[ra] < size[rb])
        {
            (ra, rb) = (rb, ra);
        }

        parent[rb] = ra;
        size[ra] += size[rb];
    }
}
