using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using static IdentityGraph.Core.Tests.Profiles.ProfileGenerators;

namespace IdentityGraph.Core.Tests.Profiles;

/// <summary>
/// "Repeat visits write nothing" (docs/profile-merge-policy.md): an observation that brings nothing new costs no event.
/// last_seen and updated_at are UTC days, first_seen is exact, a new channel is new, and the consent and attribute
/// winners do not move when the same choice or value is seen again on the same UTC day.
/// </summary>
public sealed class RepeatVisitTests
{
    /// <summary>2025-03-01, the day of <see cref="T0"/> (12:00 UTC).</summary>
    private static readonly DateTimeOffset Day0 = UtcDay.StartOf(T0);

    private static readonly Dictionary<string, string> Attributes = new() { ["city"] = "Aarhus", ["tier"] = "gold" };

    /// <summary>A visit: e-mail, phone and card, a marketing consent decided at the visit, two attributes.</summary>
    private static NormalizedObservation Visit(string id, DateTimeOffset at, Channel channel = Channel.Web, DateTimeOffset? decidedAt = null) =>
        Observation(id, at, [0, 1, 2], [new ConsentChoice("marketing", ContactChannel.Email, ConsentStatus.Granted, decidedAt ?? at)], Attributes, channel);

    private static ProfileState FirstVisit() => Run(ProfileState.Empty, new ObserveProfile(Visit("v1", T0)));

    [Fact]
    public void A_repeat_visit_later_the_same_utc_day_writes_nothing()
    {
        var state = FirstVisit();
        var repeats = new[]
        {
            Visit("v2", T0.AddHours(3)),                                          // consent re-affirmed at the visit
            Visit("v3", T0.AddHours(5), decidedAt: T0),                            // the same decision re-sent as it was made
            Visit("v0", T0.AddHours(11).AddMinutes(59).AddSeconds(59)),            // 23:59:59 UTC, a smaller observation id
            Visit("v4", T0.AddMinutes(1), decidedAt: T0.AddHours(-2).AddDays(-1)), // an older decision: the standing one is newer
        };
        foreach (var repeat in repeats)
        {
            var result = ProfileDecider.Decide(state, new ObserveProfile(repeat));
            Assert.Null(result.Rejection);
            Assert.Empty(result.Events);
        }

        var (batch, changed) = ProfileDecider.DecideBatch(state, repeats);
        Assert.Empty(batch.Events);
        Assert.All(changed, Assert.False);
    }

    [Fact]
    public void A_repeat_visit_on_the_next_utc_day_writes_one_event_that_moves_last_seen_to_that_day()
    {
        var state = FirstVisit();
        var nextDay = Visit("v2", T0.AddHours(13)); // 2025-03-02 01:00 UTC

        var applied = Assert.IsType<ObservationApplied>(Assert.Single(ProfileDecider.Decide(state, new ObserveProfile(nextDay)).Events));
        Assert.Equal(("v2", T0.AddHours(13)), (applied.ObservationId, applied.OccurredAt));
        Assert.Equal(state.Content.Identifiers.Keys, applied.Delta.Identifiers.Keys);
        Assert.All(applied.Delta.Identifiers.Values, r => Assert.Equal(Day0.AddDays(1), r.LastSeen));
        Assert.Equal(Day0.AddDays(1), applied.Delta.UpdatedAt);
        Assert.Null(applied.Delta.CreatedAt);
        Assert.Empty(applied.Delta.Evidence);

        var after = ProfileDecider.Apply(state, applied);
        Assert.Equal(2, after.Version);
        Assert.All(after.Content.Identifiers.Values, r => Assert.Equal((T0, Day0.AddDays(1)), (r.FirstSeen, r.LastSeen)));
        Assert.Equal((T0, Day0.AddDays(1)), (after.Content.CreatedAt, after.Content.UpdatedAt));

        // And again later that day: nothing.
        Assert.Empty(ProfileDecider.Decide(after, new ObserveProfile(Visit("v3", T0.AddHours(20)))).Events);
    }

    [Fact]
    public void A_new_channel_writes_an_event_with_only_the_channels()
    {
        var state = FirstVisit();
        var inStore = Visit("v2", T0.AddHours(2), Channel.Store);

        var applied = Assert.IsType<ObservationApplied>(Assert.Single(ProfileDecider.Decide(state, new ObserveProfile(inStore)).Events));
        Assert.Equal(state.Content.Identifiers.Keys, applied.Delta.Identifiers.Keys);
        Assert.All(applied.Delta.Identifiers.Values, r => Assert.Equal([Channel.Web, Channel.Store], r.Channels));
        Assert.All(applied.Delta.Identifiers.Values, r => Assert.Equal((T0, Day0), (r.FirstSeen, r.LastSeen)));
        Assert.Empty(applied.Delta.Consents);
        Assert.Empty(applied.Delta.Attributes);
        Assert.Empty(applied.Delta.Evidence);
        Assert.Null(applied.Delta.UpdatedAt);

        // The store again: known now.
        var after = ProfileDecider.Apply(state, applied);
        Assert.Empty(ProfileDecider.Decide(after, new ObserveProfile(Visit("v3", T0.AddHours(3), Channel.Store))).Events);
    }

    [Fact]
    public void An_earlier_observation_moves_first_seen_and_created_at_but_not_last_seen()
    {
        var state = FirstVisit();
        foreach (var earlier in new[] { T0.AddHours(-3), T0.AddDays(-2) })
        {
            var applied = Assert.IsType<ObservationApplied>(Assert.Single(
                ProfileDecider.Decide(state, new ObserveProfile(Visit("v0", earlier))).Events));
            var after = ProfileDecider.Apply(state, applied);
            Assert.All(after.Content.Identifiers.Values, r => Assert.Equal((earlier, Day0), (r.FirstSeen, r.LastSeen)));
            Assert.Equal((earlier, Day0), (after.Content.CreatedAt, after.Content.UpdatedAt));
            Assert.Equal("v0", after.Content.Evidence.Values.Single().ObservationId); // the earliest evidence
        }
    }

    /// <summary>
    /// Within one UTC day a contested attribute settles by value (the larger, ordinal) and a contested consent by status
    /// (DENIED), not by time: the price of writing nothing for a repeat (see the merge policy). The next day's sighting
    /// settles both.
    /// </summary>
    [Fact]
    public void Within_one_utc_day_a_larger_value_or_a_denial_is_new_and_a_smaller_value_is_not()
    {
        var state = FirstVisit();
        var larger = Observation("v2", T0.AddHours(1), [0], attributes: new Dictionary<string, string> { ["city"] = "Odense" });
        Assert.Equal(["city"], Assert.IsType<ObservationApplied>(Assert.Single(ProfileDecider.Decide(state, new ObserveProfile(larger)).Events)).Delta.Attributes.Keys);

        var smaller = Observation("v3", T0.AddHours(1), [0], attributes: new Dictionary<string, string> { ["city"] = "Aalborg" });
        Assert.Empty(ProfileDecider.Decide(state, new ObserveProfile(smaller)).Events);
        var nextDay = smaller with { ObservationId = "v4", ObservedAt = T0.AddDays(1) };
        var delta = Assert.IsType<ObservationApplied>(Assert.Single(ProfileDecider.Decide(state, new ObserveProfile(nextDay)).Events)).Delta;
        Assert.Equal("Aalborg", delta.Attributes["city"].Value);

        var denied = Observation("v5", T0.AddHours(1), [0], [new ConsentChoice("marketing", ContactChannel.Email, ConsentStatus.Denied, T0.AddHours(1))]);
        delta = Assert.IsType<ObservationApplied>(Assert.Single(ProfileDecider.Decide(state, new ObserveProfile(denied)).Events)).Delta;
        Assert.Equal(ConsentStatus.Denied, delta.Consents.Values.Single().Status);
    }

    /// <summary>
    /// Any observations in any order, then repeats of some of them (a new, larger observation id, a later time on the
    /// same UTC day, the same consents, attributes and channel) in any order: the repeats write nothing, and the
    /// content is the content of the originals alone.
    /// </summary>
    [Property(MaxTest = 300)]
    public Property Repeats_on_the_same_utc_day_write_nothing_in_any_order() =>
        Prop.ForAll(
            (from observations in ObservationList("o", 1, 8)
             from chosen in Gen.SubListOf(Enumerable.Range(0, observations.Length))
             from shifts in Gen.ArrayOf(Gen.Choose(0, 100), chosen.Count)
             let repeats = chosen.Select((index, n) => Repeat(observations[index], $"r{n:D3}", shifts[n])).ToArray()
             from shuffled in Gen.Shuffle(observations)
             from shuffledRepeats in Gen.Shuffle(repeats)
             from mixed in Gen.Shuffle(observations.Concat(repeats))
             select (observations, shuffled, shuffledRepeats, mixed)).ToArbitrary(),
            t =>
            {
                var state = t.shuffled.Aggregate(ProfileState.Empty, (s, o) => Run(s, new ObserveProfile(o)));
                AssertSameContent(Fold(t.observations), state.Content);
                foreach (var repeat in t.shuffledRepeats)
                {
                    Assert.Empty(ProfileDecider.Decide(state, new ObserveProfile(repeat)).Events);
                }

                Assert.Empty(ProfileDecider.DecideBatch(state, t.shuffledRepeats).Result.Events);
                AssertSameContent(state.Content, Fold(t.mixed));
                AssertSameContent(state.Content, t.mixed.Aggregate(ProfileState.Empty, (s, o) => Run(s, new ObserveProfile(o))).Content);
            });

    /// <summary>The observation again under <paramref name="id"/>, <paramref name="percent"/> % of the way to the end of its UTC day.</summary>
    private static NormalizedObservation Repeat(NormalizedObservation original, string id, int percent)
    {
        var left = UtcDay.StartOf(original.ObservedAt).AddDays(1) - original.ObservedAt - TimeSpan.FromTicks(1);
        return original with { ObservationId = id, ObservedAt = original.ObservedAt + (left * percent / 100) };
    }
}
