using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using static IdentityGraph.Core.Tests.Profiles.ProfileGenerators;

namespace IdentityGraph.Core.Tests.Profiles;

/// <summary>The algebra of profile content: a join-semilattice, so order and repetition do not matter.</summary>
public sealed class ProfileContentPropertyTests
{
    private static Arbitrary<(ProfileContent A, ProfileContent B, ProfileContent C)> ThreeContents { get; } =
        (from a in Content("a")
         from b in Content("b")
         from c in Content("c")
         select (a, b, c)).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property Join_is_commutative() =>
        Prop.ForAll(ThreeContents, t => AssertSameContent(t.A.Join(t.B), t.B.Join(t.A)));

    [Property(MaxTest = 300)]
    public Property Join_is_associative() =>
        Prop.ForAll(ThreeContents, t => AssertSameContent(t.A.Join(t.B).Join(t.C), t.A.Join(t.B.Join(t.C))));

    [Property(MaxTest = 300)]
    public Property Join_is_idempotent() =>
        Prop.ForAll(ThreeContents, t =>
        {
            AssertSameContent(t.A, t.A.Join(t.A));
            var ab = t.A.Join(t.B);
            AssertSameContent(ab, ab.Join(t.B));
            AssertSameContent(ab, ab.Join(t.A));
        });

    [Property(MaxTest = 300)]
    public Property Empty_is_the_identity_of_join() =>
        Prop.ForAll(ThreeContents, t =>
        {
            AssertSameContent(t.A, t.A.Join(ProfileContent.Empty));
            AssertSameContent(t.A, ProfileContent.Empty.Join(t.A));
        });

    [Property(MaxTest = 300)]
    public Property Join_of_a_delta_is_join_of_the_whole() =>
        Prop.ForAll(ThreeContents, t => AssertSameContent(t.A.Join(t.B), t.A.Join(t.A.Delta(t.B))));

    [Property(MaxTest = 300)]
    public Property Delta_is_empty_when_nothing_is_added() =>
        Prop.ForAll(ThreeContents, t =>
        {
            Assert.True(t.A.Delta(t.A).IsEmpty);
            Assert.True(t.A.Delta(ProfileContent.Empty).IsEmpty);
            var ab = t.A.Join(t.B);
            Assert.True(ab.Delta(t.A).IsEmpty);
            Assert.True(ab.Delta(t.B).IsEmpty);
        });

    [Property(MaxTest = 300)]
    public Property Delta_is_empty_exactly_when_the_join_does_not_change() =>
        Prop.ForAll(ThreeContents, t => Assert.Equal(t.A.Join(t.B).Equals(t.A), t.A.Delta(t.B).IsEmpty));

    /// <summary>
    /// The delta, computed from the other content's keys only, holds exactly the entries of the whole join that are new
    /// or changed — what a scan of the whole joined profile finds.
    /// </summary>
    [Property(MaxTest = 300)]
    public Property Delta_holds_exactly_the_entries_the_join_adds_or_changes() =>
        Prop.ForAll(ThreeContents, t =>
        {
            var joined = t.A.Join(t.B);
            var delta = t.A.Delta(t.B);
            static List<TKey> Differing<TKey, TValue>(IReadOnlyDictionary<TKey, TValue> before, IReadOnlyDictionary<TKey, TValue> after)
                where TKey : notnull =>
                [.. after.Where(p => !before.TryGetValue(p.Key, out var old) || !EqualityComparer<TValue>.Default.Equals(old, p.Value)).Select(p => p.Key)];
            Assert.Equal(Differing(t.A.Identifiers, joined.Identifiers), delta.Identifiers.Keys);
            Assert.Equal(Differing(t.A.Evidence, joined.Evidence), delta.Evidence.Keys);
            Assert.Equal(Differing(t.A.Consents, joined.Consents), delta.Consents.Keys);
            Assert.Equal(Differing(t.A.Attributes, joined.Attributes), delta.Attributes.Keys);
            Assert.All(delta.Identifiers, p => Assert.Equal(joined.Identifiers[p.Key], p.Value));
            Assert.All(delta.Evidence, p => Assert.Equal(joined.Evidence[p.Key], p.Value));
            Assert.Equal(joined.MergedProfileIds.Except(t.A.MergedProfileIds), delta.MergedProfileIds);
        });

    /// <summary>Observations in several orders, some repeated, through the decider: the same profile.</summary>
    [Property(MaxTest = 300)]
    public Property Observations_through_the_decider_in_any_order_give_the_same_content() =>
        Prop.ForAll(
            (from observations in ObservationList("o", 1, 10)
             from shuffled in Gen.Shuffle(observations)
             from repeated in Gen.SubListOf(observations)
             from replayed in Gen.Shuffle(shuffled.Concat(repeated))
             select (observations, replayed)).ToArbitrary(),
            t =>
            {
                var first = Observe(ProfileState.Empty, t.observations);
                var second = Observe(ProfileState.Empty, t.replayed);
                Assert.Equal(ProfileStatus.Live, first.Status);
                AssertSameContent(Fold(t.observations), first.Content);
                AssertSameContent(first.Content, second.Content);

                // Idempotent: every observation already applied decides to nothing.
                foreach (var observation in t.observations)
                {
                    var again = ProfileDecider.Decide(second, new ObserveProfile(observation));
                    Assert.Null(again.Rejection);
                    Assert.Empty(again.Events);
                }
            });

    /// <summary>
    /// A survivor that absorbs several profiles in any order (some twice) ends with the same content. Observation ids are
    /// unique across the profiles: an observation id is an idempotency key and always names the same content.
    /// </summary>
    [Property(MaxTest = 300)]
    public Property Absorbing_in_any_order_gives_the_same_survivor_content() =>
        Prop.ForAll(
            (from own in ObservationList("s", 0, 4)
             from count in Gen.Choose(1, 4)
             from x0 in Content("x0-")
             from x1 in Content("x1-")
             from x2 in Content("x2-")
             from x3 in Content("x3-")
             let absorbed = new[] { x0, x1, x2, x3 }.Take(count).ToArray()
             from order in Gen.Shuffle(Enumerable.Range(0, count))
             from repeats in Gen.SubListOf(Enumerable.Range(0, count))
             select (own, absorbed, order, repeats)).ToArbitrary(),
            t =>
            {
                var survivor = ProfileId.For("survivor", T0.AddDays(-1));
                var ids = Enumerable.Range(0, t.absorbed.Length).Select(i => ProfileId.For($"absorbed-{i}", T0.AddMinutes(i))).ToArray();
                IProfileCommand Absorb(int i) => new AbsorbProfile(survivor, ids[i], t.absorbed[i], $"merge-{i}", T0.AddHours(i));

                var start = Observe(ProfileState.Empty, t.own);
                var inOrder = Enumerable.Range(0, t.absorbed.Length).Select(Absorb).Aggregate(start, Run);
                var shuffled = t.order.Concat(t.repeats).Select(Absorb).Aggregate(start, Run);

                var expected = t.absorbed.Aggregate(Fold(t.own), (c, a) => c.Join(a)).WithMergedProfileIds(ids);
                Assert.Equal(ProfileStatus.Live, inOrder.Status);
                AssertSameContent(expected, inOrder.Content);
                AssertSameContent(inOrder.Content, shuffled.Content);
            });

    /// <summary>Evidence: per key set the earliest, at most <see cref="ProfileContent.MaxEvidence"/>, the earliest kept.</summary>
    [Property(MaxTest = 100)]
    public Property Evidence_is_bounded_to_the_earliest_whatever_the_order() =>
        Prop.ForAll(
            (from observations in ObservationList("e", 0, 160, poolSize: 10, minIdentifiers: 1, maxIdentifiers: 4)
             from shuffled in Gen.Shuffle(observations)
             select (observations, shuffled)).ToArbitrary(),
            t =>
            {
                var content = Fold(t.observations);
                var expected = t.observations
                    .Where(o => o.Identifiers.Count >= 2)
                    .GroupBy(o => string.Join(',', o.Identifiers.Select(i => i.Key.Value)))
                    .Select(g => g.OrderBy(o => o.ObservedAt).ThenBy(o => o.ObservationId, StringComparer.Ordinal).First())
                    .OrderBy(o => o.ObservedAt).ThenBy(o => o.ObservationId, StringComparer.Ordinal)
                    .Take(ProfileContent.MaxEvidence)
                    .Select(o => o.ObservationId)
                    .Order(StringComparer.Ordinal);
                Assert.True(content.Evidence.Count <= ProfileContent.MaxEvidence);
                Assert.Equal(expected, content.Evidence.Values.Select(e => e.ObservationId).Order(StringComparer.Ordinal));
                Assert.All(content.Evidence, p => Assert.Equal(p.Key, p.Value.KeySet));
                AssertSameContent(content, Fold(t.shuffled));
            });

    private static ProfileState Observe(ProfileState state, IEnumerable<NormalizedObservation> observations) =>
        observations.Aggregate(state, (s, o) =>
        {
            var next = Run(s, new ObserveProfile(o));
            Assert.True(next.Version - s.Version is 0 or 1);
            return next;
        });
}
