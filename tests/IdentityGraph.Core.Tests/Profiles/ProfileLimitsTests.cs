using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using static IdentityGraph.Core.Tests.Profiles.ProfileGenerators;

namespace IdentityGraph.Core.Tests.Profiles;

/// <summary>
/// Profile limits: the attribute cap keeps the smallest keys whatever the order (the content stays a
/// join-semilattice), and the identifier limit refuses growth, never a re-sighting.
/// </summary>
public sealed class ProfileLimitsTests
{
    private static readonly ProfileLimits TwoAttributes = new() { MaxAttributes = 2 };

    private static Arbitrary<(ProfileContent A, ProfileContent B, ProfileContent C)> ThreeBoundedContents { get; } =
        (from a in Content("a")
         from b in Content("b")
         from c in Content("c")
         select (Bounded(a), Bounded(b), Bounded(c))).ToArbitrary();

    /// <summary>Join followed by the cap, as the decider does it.</summary>
    private static ProfileContent Join(ProfileContent a, ProfileContent b) => Bounded(a.Join(b));

    private static ProfileContent Bounded(ProfileContent content) => content.WithAttributesBoundedTo(TwoAttributes.MaxAttributes);

    [Property(MaxTest = 300)]
    public Property Bounded_join_is_commutative_associative_and_idempotent() =>
        Prop.ForAll(ThreeBoundedContents, t =>
        {
            AssertSameContent(Join(t.A, t.B), Join(t.B, t.A));
            AssertSameContent(Join(Join(t.A, t.B), t.C), Join(t.A, Join(t.B, t.C)));
            AssertSameContent(t.A, Join(t.A, t.A));
            AssertSameContent(Join(t.A, t.B), Join(Join(t.A, t.B), t.B));
            Assert.True(Join(t.A, t.B).Attributes.Count <= TwoAttributes.MaxAttributes);
        });

    [Property(MaxTest = 300)]
    public Property Bounding_once_at_the_end_equals_bounding_after_every_join() =>
        Prop.ForAll(ThreeBoundedContents, t =>
            AssertSameContent(Bounded(t.A.Join(t.B).Join(t.C)), Join(Join(t.A, t.B), t.C)));

    [Property(MaxTest = 300)]
    public Property The_bounded_delta_applied_with_a_plain_join_gives_the_bounded_join() =>
        Prop.ForAll(ThreeBoundedContents, t =>
        {
            var delta = t.A.Delta(t.B, TwoAttributes, out _);
            AssertSameContent(Join(t.A, t.B), t.A.Join(delta));
            Assert.Equal(Join(t.A, t.B).Equals(t.A), delta.IsEmpty);
        });

    /// <summary>Observations in any order through the decider with a cap: the smallest keys, the same content.</summary>
    [Property(MaxTest = 300)]
    public Property Observations_through_a_capped_decider_in_any_order_give_the_same_content() =>
        Prop.ForAll(
            (from observations in ObservationList("o", 1, 10)
             from shuffled in Gen.Shuffle(observations)
             select (observations, shuffled)).ToArbitrary(),
            t =>
            {
                var first = Observe(t.observations);
                var second = Observe(t.shuffled);
                AssertSameContent(Bounded(Fold(t.observations)), first.Content);
                AssertSameContent(first.Content, second.Content);
                var keys = t.observations.SelectMany(o => o.Attributes.Keys).Distinct().Order(StringComparer.Ordinal).Take(TwoAttributes.MaxAttributes);
                Assert.Equal(keys, first.Content.Attributes.Keys);
            });

    [Fact]
    public void A_profile_keeps_the_smallest_attribute_keys_and_counts_what_it_drops()
    {
        var limits = new ProfileLimits { MaxAttributes = 256 };
        var state = ProfileState.Empty;
        var dropped = 0;
        for (var i = 0; i < 10; i++)
        {
            // 64 attributes per observation (the most one may carry), 640 distinct keys, largest first.
            var attributes = Enumerable.Range(0, 64).ToDictionary(j => $"k{999 - (i * 64) - j:D3}", j => $"v{j}");
            var result = ProfileDecider.Decide(state, new ObserveProfile(Observation($"o{i}", T0.AddMinutes(i), [1], attributes: attributes)), limits);
            dropped += result.AttributesDropped;
            state = result.Events.Aggregate(state, ProfileDecider.Apply);
        }

        Assert.Equal(256, state.Content.Attributes.Count);
        Assert.Equal(Enumerable.Range(360, 256).Select(n => $"k{n:D3}"), state.Content.Attributes.Keys);
        Assert.Equal("k615", state.Content.AttributeHorizon);
        Assert.Equal(640 - 256, dropped);

        // A key beyond the horizon is refused again (and counted), and writes nothing.
        var late = ProfileDecider.Decide(state, new ObserveProfile(Observation("late", T0.AddDays(1), [1], attributes: new Dictionary<string, string> { ["k999"] = "x" })), limits);
        Assert.Equal(1, late.AttributesDropped);
        Assert.Single(late.Events);
        Assert.DoesNotContain("k999", ((ObservationApplied)late.Events[0]).Delta.Attributes.Keys);
    }

    [Fact]
    public void The_identifier_limit_refuses_growth_beyond_it_and_never_a_re_sighting()
    {
        var limits = new ProfileLimits { MaxIdentifiers = 10 };
        Assert.Null(limits.CheckIdentifiers(held: 0, added: 10, profiles: 0));
        Assert.Null(limits.CheckIdentifiers(held: 8, added: 2, profiles: 1));
        Assert.Equal(ProfileLimits.IdentifierLimitCode, limits.CheckIdentifiers(held: 9, added: 2, profiles: 1)?.Code);
        Assert.Equal(ProfileLimits.IdentifierLimitCode, limits.CheckIdentifiers(held: 11, added: 0, profiles: 2)?.Code);
        Assert.Equal(ProfileLimits.IdentifierLimitCode, limits.CheckIdentifiers(held: 0, added: 11, profiles: 0)?.Code);

        // A profile that overshot (concurrent observations) still takes sightings of what it holds.
        Assert.Null(limits.CheckIdentifiers(held: 12, added: 0, profiles: 1));
        Assert.DoesNotContain("@", limits.CheckIdentifiers(held: 9, added: 2, profiles: 1)!.Message, StringComparison.Ordinal);
    }

    private static ProfileState Observe(IEnumerable<NormalizedObservation> observations) =>
        observations.Aggregate(ProfileState.Empty, (s, o) =>
        {
            var result = ProfileDecider.Decide(s, new ObserveProfile(o), TwoAttributes);
            Assert.Null(result.Rejection);
            return result.Events.Aggregate(s, ProfileDecider.Apply);
        });
}
