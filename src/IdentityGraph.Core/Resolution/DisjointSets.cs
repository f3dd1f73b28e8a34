namespace IdentityGraph.Core.Resolution;

/// <summary>
/// Union-find over the elements 0 … <see cref="Count"/> − 1, with union by size and path compression: the in-memory
/// union of <see cref="ReferenceResolver"/> (which grows as keys arrive) and of <see cref="BatchUnion"/>.
/// </summary>
public sealed class DisjointSets
{
    private int[] parent;
    private int[] size;

    public DisjointSets(int count = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        parent = new int[Math.Max(count, 16)];
        size = new int[parent.Length];
        for (var i = 0; i < count; i++)
        {
            Add();
        }
    }

    public int Count { get; private set; }

    /// <summary>A new element in a set of its own; returns its index.</summary>
    public int Add()
    {
        var index = Count;
        if (index == parent.Length)
        {
            Array.Resize(ref parent, index * 2);
            Array.Resize(ref size, index * 2);
        }

        parent[index] = index;
        size[index] = 1;
        Count++;
        return index;
    }

    public int Find(int i)
    {
        var root = i;
        while (parent[root] != root)
        {
            root = parent[root];
        }

        // Path compression: everything on the way points straight at the root.
        while (parent[i] != root)
        {
            (parent[i], i) = (root, parent[i]);
        }

        return root;
    }

    public void Union(int a, int b)
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
