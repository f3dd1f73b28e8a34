using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using IdentityGraph.Core.Resolution;
using static IdentityGraph.Core.Tests.Profiles.ProfileGenerators;

namespace IdentityGraph.Core.Tests.Resolution;

public sealed class BatchUnionTests
{
    private static readonly Dictionary<IdentifierKey, ProfileId> NothingOwned = [];

    /// <summary>Few identifiers per observation out of a pool of 20: batches with several components.</summary>
    private static Gen<NormalizedObservation[]> Batch { get; } = ObservationList("o", 0, 15, poolSize: 20, minIdentifiers: 1, maxIdentifiers: 3);

    private static IdentifierKey K(int i) => Identifier(i).Key;

    /// <summary>Existing profile number <paramref name="i"/>; a larger number is a larger id.</summary>
    private static ProfileId R(int i) => ProfileId.For($"root-{i}", T0.AddDays(-1).AddMinutes(i));

    private static NormalizedObservation[] Observations(params int[][] identifiers) =>
        [.. identifiers.Select((ids, n) => Observation($"o{n}", T0.AddSeconds(n), ids))];

    [Fact]
    public void An_empty_batch_has_no_components() =>
        Assert.Empty(BatchUnion.Components([], NothingOwned));

    [Fact]
    public void Observations_without_shared_identifiers_are_separate_new_profiles()
    {
        var batch = Observations([1, 2], [3], [4, 5]);
        var components = BatchUnion.Components(batch, NothingOwned);

        Assert.Equal(
        [
            new([0], [], [], [K(1), K(2)], ProfileId.For(batch[0])),
            new([1], [], [], [K(3)], ProfileId.For(batch[1])),
            new([2], [], [], [K(4), K(5)], ProfileId.For(batch[2])),
        ],
            components,
            SameComponent.Instance);
        Assert.All(components, c => Assert.True(c.IsNew));
    }

    [Fact]
    public void Chained_links_join_into_one_component_whose_candidate_comes_from_its_first_observation()
    {
        // A-B, then C alone, then B-C: all three are one customer.
        var batch = Observations([1, 2], [3], [2, 3], [9]);
        var components = BatchUnion.Components(batch, NothingOwned);

        Assert.Equal(2, components.Count);
        Assert.Equal(new BatchComponent([0, 1, 2], [], [], [K(1), K(2), K(3)], ProfileId.For(batch[0])), components[0], SameComponent.Instance);
        Assert.Equal(new BatchComponent([3], [], [], [K(9)], ProfileId.For(batch[3])), components[1], SameComponent.Instance);
    }

    [Fact]
    public void Observations_whose_identifiers_lead_to_the_same_root_are_one_component()
    {
        var batch = Observations([1], [2, 3], [4]);
        var roots = new Dictionary<IdentifierKey, ProfileId> { [K(1)] = R(5), [K(2)] = R(5) };
        var components = BatchUnion.Components(batch, roots);

        Assert.Equal(
        [
            new([0, 1], [R(5)], [K(1), K(2)], [K(3)], R(5)),
            new([2], [], [], [K(4)], ProfileId.For(batch[2])),
        ],
            components,
            SameComponent.Instance);
        Assert.False(components[0].IsNew);
    }

    [Fact]
    public void A_component_with_several_roots_names_them_all_and_the_smallest_is_the_candidate()
    {
        // 1 and 3 share key 3; 0 joins them through root 7 (keys 1 and 5).
        var batch = Observations([1, 2], [3], [3, 4, 5]);
        var roots = new Dictionary<IdentifierKey, ProfileId> { [K(1)] = R(7), [K(3)] = R(2), [K(4)] = R(9), [K(5)] = R(7) };
        var component = Assert.Single(BatchUnion.Components(batch, roots));

        Assert.Equal(
            new BatchComponent([0, 1, 2], [R(2), R(7), R(9)], [K(1), K(3), K(4), K(5)], [K(2)], R(2)), component, SameComponent.Instance);
    }

    [Fact]
    public void An_observation_with_only_owned_identifiers_has_nothing_to_claim()
    {
        var batch = Observations([1, 2]);
        var roots = new Dictionary<IdentifierKey, ProfileId> { [K(1)] = R(3), [K(2)] = R(3) };
        var component = Assert.Single(BatchUnion.Components(batch, roots));

        Assert.Equal(new BatchComponent([0], [R(3)], [K(1), K(2)], [], R(3)), component, SameComponent.Instance);
    }

    [Fact]
    public void Duplicate_keys_inside_one_observation_count_once()
    {
        var keys = new IReadOnlyList<IdentifierKey>[] { [K(2), K(1), K(2), K(1)], [K(5), K(5)] };
        var roots = new Dictionary<IdentifierKey, ProfileId> { [K(5)] = R(1) };
        var components = BatchUnion.Components(keys, roots, first => ProfileId.For($"new-{first}", T0));

        Assert.Equal(
        [
            new([0], [], [], [K(1), K(2)], ProfileId.For("new-0", T0)),
            new([1], [R(1)], [K(5)], [], R(1)),
        ],
            components,
            SameComponent.Instance);
    }

    [Fact]
    public void A_new_id_is_derived_once_per_new_component_from_its_first_observation()
    {
        var calls = new List<int>();
        var keys = new IReadOnlyList<IdentifierKey>[] { [K(1)], [K(2)], [K(3)], [K(1), K(2)], [K(4)] };
        var roots = new Dictionary<IdentifierKey, ProfileId> { [K(3)] = R(1) };
        var components = BatchUnion.Components(keys, roots, first =>
        {
            calls.Add(first);
            return ProfileId.For($"new-{first}", T0);
        });

        Assert.Equal([0, 4], calls);
        Assert.Equal([[0, 1, 3], [2], [4]], components.Select(c => c.Observations));
        Assert.Equal([ProfileId.For("new-0", T0), R(1), ProfileId.For("new-4", T0)], components.Select(c => c.Candidate));
    }

    [Fact]
    public void The_same_batch_gives_the_same_components_whatever_order_the_roots_dictionary_enumerates()
    {
        var batch = Observations([1, 2], [3, 4], [5], [6, 7], [2, 6], [8]);
        var pairs = new (IdentifierKey Key, ProfileId Root)[] { (K(1), R(8)), (K(3), R(4)), (K(4), R(6)), (K(7), R(3)), (K(5), R(6)) };
        var forward = pairs.ToDictionary(p => p.Key, p => p.Root);
        var backward = pairs.Reverse().ToDictionary(p => p.Key, p => p.Root);
        var sorted = new SortedDictionary<IdentifierKey, ProfileId>(forward);
        Assert.NotEqual(forward.Keys, backward.Keys);

        var expected = BatchUnion.Components(batch, forward);
        Assert.Equal(expected, BatchUnion.Components(batch, forward), SameComponent.Instance);
        Assert.Equal(expected, BatchUnion.Components(batch, backward), SameComponent.Instance);
        Assert.Equal(expected, BatchUnion.Components(batch, sorted), SameComponent.Instance);

        // [1,2] + [6,7] + [2,6] via keys (roots 8, 3); [3,4] + [5] via root 6 (key 4 and key 5), root 4 too.
        Assert.Equal(
        [
            new([0, 3, 4], [R(3), R(8)], [K(1), K(7)], [K(2), K(6)], R(3)),
            new([1, 2], [R(4), R(6)], [K(3), K(4), K(5)], [], R(4)),
            new([5], [], [], [K(8)], ProfileId.For(batch[5])),
        ],
            expected,
            SameComponent.Instance);
    }

    [Fact]
    public void A_long_chain_is_one_component()
    {
        const int length = 20_000;
        var keys = Enumerable.Range(0, length).Select(i => (IReadOnlyList<IdentifierKey>)[K(i), K(i + 1)]).ToArray();
        var component = Assert.Single(BatchUnion.Components(keys, NothingOwned, _ => R(0)));
        Assert.Equal(Enumerable.Range(0, length), component.Observations);
        Assert.Equal(length + 1, component.UnownedKeys.Count);
    }

    [Fact]
    public void Invalid_input_is_refused()
    {
        var noKeys = new IReadOnlyList<IdentifierKey>[] { [K(1)], [] };
        Assert.Contains("no identifier keys", Assert.Throws<ArgumentException>(() => BatchUnion.Components(noKeys, NothingOwned, _ => R(0))).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => BatchUnion.Components([[new IdentifierKey("")]], NothingOwned, _ => R(0)));
        Assert.Throws<ArgumentException>(() => BatchUnion.Components([[K(1)]], new Dictionary<IdentifierKey, ProfileId> { [K(1)] = default }, _ => R(0)));
        Assert.Throws<InvalidOperationException>(() => BatchUnion.Components([[K(1)]], NothingOwned, _ => default));
    }

    /// <summary>With nothing owned, the components' keys are exactly the reference resolver's partition.</summary>
    [Property(MaxTest = 500)]
    public Property Without_owned_keys_the_components_are_the_reference_partition() =>
        Prop.ForAll(Batch.ToArbitrary(), batch =>
        {
            var components = BatchUnion.Components(batch, NothingOwned);
            var reference = new ReferenceResolver();
            foreach (var observation in batch)
            {
                reference.Add(observation);
            }

            Assert.True(ReferenceResolver.SamePartition(reference.Partition(), components.Select(c => c.UnownedKeys)));
            AssertWellFormed(batch, components, NothingOwned);
            Assert.All(components, c => Assert.Equal(ProfileId.For(batch[c.Observations[0]]), c.Candidate));
        });

    /// <summary>
    /// With some keys owned, a component is what the reference resolver finds when every root is one more identifier
    /// linked to the keys it owns; the candidate is the smallest root.
    /// </summary>
    [Property(MaxTest = 500)]
    public Property With_owned_keys_roots_link_like_shared_identifiers() =>
        Prop.ForAll(
            (from batch in Batch
             from owners in Gen.ArrayOf(Gen.Choose(-4, 3), 20)
             select (batch, owners)).ToArbitrary(),
            t =>
            {
                // Key i is owned by root owners[i] when that is not negative: few roots, so they are shared.
                var roots = Enumerable.Range(0, 20).Where(i => t.owners[i] >= 0).ToDictionary(K, i => R(t.owners[i]));
                var components = BatchUnion.Components(t.batch, roots);

                var reference = new ReferenceResolver();
                foreach (var observation in t.batch)
                {
                    reference.Link(observation.Identifiers.Select(i => i.Key)
                        .Concat(observation.Identifiers.Where(i => roots.ContainsKey(i.Key)).Select(i => new IdentifierKey("root:" + roots[i.Key].Value))));
                }

                var expected = reference.Partition().Select(g => g.Where(k => !k.Value.StartsWith("root:", StringComparison.Ordinal)));
                Assert.True(ReferenceResolver.SamePartition(expected, components.Select(c => c.OwnedKeys.Concat(c.UnownedKeys))));
                AssertWellFormed(t.batch, components, roots);
                Assert.All(components.Where(c => !c.IsNew), c => Assert.Equal(c.Roots[0], c.Candidate));
            });

    /// <summary>Shuffling the batch regroups the same observations (positions change; the partition does not).</summary>
    [Property(MaxTest = 200)]
    public Property The_partition_does_not_depend_on_batch_order() =>
        Prop.ForAll(
            (from batch in Batch
             from shuffled in Gen.Shuffle(batch)
             select (batch, shuffled)).ToArbitrary(),
            t =>
            {
                static IEnumerable<IEnumerable<IdentifierKey>> Groups(NormalizedObservation[] batch) =>
                    BatchUnion.Components(batch, NothingOwned).Select(c => c.Observations.Select(i => new IdentifierKey(batch[i].ObservationId)));
                Assert.True(ReferenceResolver.SamePartition(Groups(t.batch), Groups(t.shuffled)));
            });

    /// <summary>Every observation in exactly one component; orders, distinctness and the key split as documented.</summary>
    private static void AssertWellFormed(
        NormalizedObservation[] batch, IReadOnlyList<BatchComponent> components, Dictionary<IdentifierKey, ProfileId> roots)
    {
        Assert.Equal(Enumerable.Range(0, batch.Length), components.SelectMany(c => c.Observations).Order());
        Assert.Equal(components.Select(c => c.Observations[0]).Order(), components.Select(c => c.Observations[0]));
        foreach (var component in components)
        {
            Assert.Equal(component.Observations.Order(), component.Observations);
            var keys = component.Observations.SelectMany(i => batch[i].Identifiers.Select(x => x.Key)).Distinct().ToList();
            Assert.Equal(keys.Where(k => !roots.ContainsKey(k)).Order(), component.UnownedKeys);
            Assert.Equal(keys.Where(roots.ContainsKey).Order(), component.OwnedKeys);
            Assert.Equal(keys.Where(roots.ContainsKey).Select(k => roots[k]).Distinct().Order(), component.Roots);
        }
    }

    /// <summary>Compares components by content (the record's lists compare by reference).</summary>
    private sealed class SameComponent : IEqualityComparer<BatchComponent>
    {
        public static SameComponent Instance { get; } = new();

        public bool Equals(BatchComponent? x, BatchComponent? y) =>
            x is not null && y is not null
            && x.Observations.SequenceEqual(y.Observations)
            && x.Roots.SequenceEqual(y.Roots)
            && x.OwnedKeys.SequenceEqual(y.OwnedKeys)
            && x.UnownedKeys.SequenceEqual(y.UnownedKeys)
            && x.Candidate == y.Candidate;

        public int GetHashCode(BatchComponent obj) => obj.Candidate.GetHashCode();
    }
}
