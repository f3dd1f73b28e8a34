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
    private readonly DisjointSets sets = new();

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
                sets.Union(first, index);
            }
        }
    }

    /// <summary>The components, each a list of keys.</summary>
    public IReadOnlyList<IReadOnlyList<IdentifierKey>> Partition()
    {
        var groups = new Dictionary<int, List<IdentifierKey>>();
        for (var i = 0; i < keys.Count; i++)
        {
            var root = sets.Find(i);
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
        indexOf.TryGetValue(a, out var i) && indexOf.TryGetValue(b, out var j) && sets.Find(i) == sets.Find(j);

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

        index = sets.Add();
        keys.Add(key);
        indexOf[key] = index;
        return index;
    }
}
