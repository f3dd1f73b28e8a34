using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Resolution;
using static IdentityGraph.Core.Tests.Profiles.ProfileGenerators;

namespace IdentityGraph.Core.Tests.Resolution;

public sealed class ReferenceResolverTests
{
    /// <summary>Few identifiers per observation out of a pool of 20: partitions with several components.</summary>
    private static Gen<NormalizedObservation[]> Stream { get; } = ObservationList("o", 0, 15, poolSize: 20, minIdentifiers: 1, maxIdentifiers: 3);

    [Property(MaxTest = 500)]
    public Property Partition_does_not_depend_on_order_or_duplicates() =>
        Prop.ForAll(
            (from observations in Stream
             from duplicates in Gen.SubListOf(observations)
             from replayed in Gen.Shuffle(observations.Concat(duplicates))
             select (observations, replayed)).ToArbitrary(),
            t =>
            {
                var a = Resolve(t.observations).Partition();
                var b = Resolve(t.replayed).Partition();
                Assert.True(ReferenceResolver.SamePartition(a, b));
                Assert.Equal(ReferenceResolver.Canonicalize(a), ReferenceResolver.Canonicalize(b));
            });

    /// <summary>The union-find agrees with a plain graph search over the observations.</summary>
    [Property(MaxTest = 500)]
    public Property Partition_is_the_connected_components_of_the_observations() =>
        Prop.ForAll(Stream.ToArbitrary(), observations =>
        {
            var resolver = Resolve(observations);
            var partition = resolver.Partition();
            Assert.True(ReferenceResolver.SamePartition(Components(observations), partition));
            Assert.Equal(observations.SelectMany(o => o.Identifiers).Select(i => i.Key).Distinct().Count(), resolver.Count);

            var componentOf = partition.SelectMany((g, n) => g.Select(k => (k, n))).ToDictionary(p => p.k, p => p.n);
            foreach (var a in componentOf.Keys)
            {
                foreach (var b in componentOf.Keys)
                {
                    Assert.Equal(componentOf[a] == componentOf[b], resolver.Connected(a, b));
                }
            }
        });

    [Fact]
    public void Empty_resolver_has_an_empty_partition()
    {
        var resolver = new ReferenceResolver();
        Assert.Equal(0, resolver.Count);
        Assert.Empty(resolver.Partition());
        Assert.False(resolver.Connected(new IdentifierKey("a"), new IdentifierKey("a")));
    }

    [Fact]
    public void A_single_identifier_is_its_own_component()
    {
        var resolver = new ReferenceResolver();
        resolver.Add(Observation("o1", T0, [3]));
        Assert.Equal([["k3"]], ReferenceResolver.Canonicalize(resolver.Partition()));
        Assert.True(resolver.Connected(new IdentifierKey("k3"), new IdentifierKey("k3")));
        Assert.False(resolver.Connected(new IdentifierKey("k3"), new IdentifierKey("k4")));
    }

    [Fact]
    public void Observations_sharing_an_identifier_join_transitively()
    {
        var resolver = new ReferenceResolver();
        resolver.Add(Observation("o1", T0, [1, 2]));
        resolver.Add(Observation("o2", T0, [5, 6]));
        resolver.Add(Observation("o3", T0, [2, 3]));
        resolver.Add(Observation("o4", T0, [7]));
        Assert.Equal(
            [["k1", "k2", "k3"], ["k5", "k6"], ["k7"]],
            ReferenceResolver.Canonicalize(resolver.Partition()));
        Assert.True(resolver.Connected(new IdentifierKey("k1"), new IdentifierKey("k3")));
        Assert.False(resolver.Connected(new IdentifierKey("k1"), new IdentifierKey("k5")));
    }

    [Fact]
    public void Many_identifiers_grow_the_arrays_and_a_long_chain_is_one_component()
    {
        var resolver = new ReferenceResolver();
        for (var i = 0; i < 1000; i++)
        {
            resolver.Link([new IdentifierKey($"c{i}"), new IdentifierKey($"c{i + 1}")]);
            resolver.Link([new IdentifierKey($"s{i}")]);
        }

        Assert.Equal(2001, resolver.Count);
        Assert.Equal(1001, resolver.Partition().Count);
        Assert.True(resolver.Connected(new IdentifierKey("c0"), new IdentifierKey("c1000")));
        Assert.False(resolver.Connected(new IdentifierKey("c0"), new IdentifierKey("s0")));
    }

    [Fact]
    public void Canonicalize_sorts_removes_duplicates_and_empty_groups()
    {
        IEnumerable<IEnumerable<IdentifierKey>> partition =
        [
            [new("b"), new("a"), new("b")],
            [],
            [new("0")],
        ];
        Assert.Equal([["0"], ["a", "b"]], ReferenceResolver.Canonicalize(partition));
    }

    [Fact]
    public void SamePartition_compares_groups_not_order()
    {
        IEnumerable<IEnumerable<IdentifierKey>> a = [[new("a"), new("b")], [new("c")]];
        IEnumerable<IEnumerable<IdentifierKey>> b = [[new("c")], [new("b"), new("a")]];
        IEnumerable<IEnumerable<IdentifierKey>> c = [[new("a")], [new("b"), new("c")]];
        IEnumerable<IEnumerable<IdentifierKey>> d = [[new("a"), new("b"), new("c")]];
        Assert.True(ReferenceResolver.SamePartition(a, b));
        Assert.False(ReferenceResolver.SamePartition(a, c));
        Assert.False(ReferenceResolver.SamePartition(a, d));
    }

    private static ReferenceResolver Resolve(IEnumerable<NormalizedObservation> observations)
    {
        var resolver = new ReferenceResolver();
        foreach (var observation in observations)
        {
            resolver.Add(observation);
        }

        return resolver;
    }

    /// <summary>Connected components by breadth-first search over "seen together" edges (the slow, obvious way).</summary>
    private static List<List<IdentifierKey>> Components(IEnumerable<NormalizedObservation> observations)
    {
        var neighbours = new Dictionary<IdentifierKey, HashSet<IdentifierKey>>();
        foreach (var observation in observations)
        {
            foreach (var a in observation.Identifiers)
            {
                if (!neighbours.TryGetValue(a.Key, out var set))
                {
                    neighbours[a.Key] = set = [];
                }

                set.UnionWith(observation.Identifiers.Select(i => i.Key));
            }
        }

        var seen = new HashSet<IdentifierKey>();
        var components = new List<List<IdentifierKey>>();
        foreach (var start in neighbours.Keys)
        {
            if (!seen.Add(start))
            {
                continue;
            }

            var component = new List<IdentifierKey>();
            var queue = new Queue<IdentifierKey>([start]);
            while (queue.TryDequeue(out var key))
            {
                component.Add(key);
                foreach (var next in neighbours[key].Where(seen.Add))
                {
                    queue.Enqueue(next);
                }
            }

            components.Add(component);
        }

        return components;
    }
}
