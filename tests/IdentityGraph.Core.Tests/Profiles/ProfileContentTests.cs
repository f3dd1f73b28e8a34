using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using static IdentityGraph.Core.Tests.Profiles.ProfileGenerators;

namespace IdentityGraph.Core.Tests.Profiles;

/// <summary>The merge policy per part, case by case (docs/profile-merge-policy.md).</summary>
public sealed class ProfileContentTests
{
    private static ConsentChoice Marketing(ConsentStatus status, int minute) =>
        new("marketing", ContactChannel.Email, status, T0.AddMinutes(minute));

    private static ProfileContent From(NormalizedObservation observation) => ProfileContent.FromObservation(observation);

    private static ProfileContent Join(params NormalizedObservation[] observations) => Fold(observations);

    [Fact]
    public void Empty_is_empty()
    {
        Assert.True(ProfileContent.Empty.IsEmpty);
        Assert.Null(ProfileContent.Empty.CreatedAt);
        Assert.False(From(Observation("o1", T0, [1])).IsEmpty);
    }

    [Fact]
    public void Identifiers_keep_first_seen_exact_min_last_seen_the_latest_utc_day_and_channels_union()
    {
        var content = Join(
            Observation("o2", T0.AddDays(1).AddMinutes(5), [1, 2], channel: Channel.Store),
            Observation("o1", T0, [1], channel: Channel.Web),
            Observation("o3", T0.AddMinutes(2), [1], channel: Channel.Web));
        var one = content.Identifiers[new IdentifierKey("k1")];
        Assert.Equal(T0, one.FirstSeen);
        Assert.Equal(new DateTimeOffset(2025, 3, 2, 0, 0, 0, TimeSpan.Zero), one.LastSeen);
        Assert.Equal([Channel.Web, Channel.Store], one.Channels);
        Assert.Equal(Identifier(1).Identifier, one.Identifier);
        var two = content.Identifiers[new IdentifierKey("k2")];
        Assert.Equal((T0.AddDays(1).AddMinutes(5), UtcDay.StartOf(T0.AddDays(1))), (two.FirstSeen, two.LastSeen));
        Assert.Equal([Channel.Store], two.Channels);
    }

    [Fact]
    public void Last_seen_and_updated_at_are_utc_days_however_they_are_set()
    {
        var local = new DateTimeOffset(2025, 3, 2, 0, 30, 0, TimeSpan.FromHours(2)); // 2025-03-01 22:30 UTC
        var record = new IdentifierRecord(new IdentifierKey("k1"), Identifier(1).Identifier, local, local, [Channel.Web]);
        Assert.Equal(local, record.FirstSeen);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero), record.LastSeen);
        Assert.Equal(new DateTimeOffset(2025, 3, 3, 0, 0, 0, TimeSpan.Zero), (record with { LastSeen = T0.AddDays(1).AddHours(13) }).LastSeen);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero), new ProfileContent { UpdatedAt = local }.UpdatedAt);
        Assert.Null(new ProfileContent { UpdatedAt = null }.UpdatedAt);
    }

    [Fact]
    public void Created_at_is_the_earliest_event_time_and_updated_at_the_utc_day_of_the_latest()
    {
        var content = Join(Observation("o2", T0.AddMinutes(5), [1]), Observation("o1", T0, [2]), Observation("o3", T0.AddMinutes(3), [3]));
        Assert.Equal(T0, content.CreatedAt);
        Assert.Equal(UtcDay.StartOf(T0), content.UpdatedAt);
        Assert.Equal(UtcDay.StartOf(T0.AddDays(2)), content.Join(From(Observation("o4", T0.AddDays(2), [1]))).UpdatedAt);
    }

    [Fact]
    public void A_consent_decision_on_a_later_utc_day_wins_whatever_its_status()
    {
        var granted = Observation("o1", T0, [1], [Marketing(ConsentStatus.Granted, 24 * 60)]);
        var denied = Observation("o2", T0, [1], [Marketing(ConsentStatus.Denied, 2)]);
        Assert.Equal(ConsentStatus.Granted, Join(granted, denied).Consents.Values.Single().Status);
        Assert.Equal(ConsentStatus.Granted, Join(denied, granted).Consents.Values.Single().Status);
        Assert.Equal("o1", Join(denied, granted).Consents.Values.Single().ObservationId);
    }

    /// <summary>Contract change: DENIED used to win only on a tie in decided_at; it now wins within the UTC day.</summary>
    [Fact]
    public void Within_one_utc_day_denied_wins_whatever_the_time()
    {
        foreach (var grantedAt in new[] { 2, 3, 11 * 60 + 59 })
        {
            var granted = Observation("o9", T0, [1], [Marketing(ConsentStatus.Granted, grantedAt)]);
            var denied = Observation("o1", T0, [1], [Marketing(ConsentStatus.Denied, 2)]);
            var winner = Join(granted, denied).Consents.Values.Single();
            Assert.Equal(ConsentStatus.Denied, winner.Status);
            Assert.Equal("o1", winner.ObservationId);
            Assert.Equal(winner, Join(denied, granted).Consents.Values.Single());
        }
    }

    /// <summary>Contract change: the same decision made again that day keeps the first (it used to move to the larger id).</summary>
    [Fact]
    public void The_same_decision_within_one_utc_day_keeps_the_earliest_then_the_smaller_observation_id()
    {
        var a = Observation("o1", T0.AddMinutes(9), [1], [Marketing(ConsentStatus.Granted, 2)]);
        var b = Observation("o2", T0, [1], [Marketing(ConsentStatus.Granted, 2)]);
        var c = Observation("o0", T0, [1], [Marketing(ConsentStatus.Granted, 5)]);
        foreach (var content in new[] { Join(a, b, c), Join(c, b, a), Join(b, c, a) })
        {
            var winner = content.Consents.Values.Single();
            Assert.Equal(("o1", T0.AddMinutes(2)), (winner.ObservationId, winner.DecidedAt));
        }
    }

    [Fact]
    public void Consents_are_kept_per_purpose_and_contact_channel()
    {
        var content = Join(
            Observation("o1", T0, [1], [Marketing(ConsentStatus.Granted, 1), new("marketing", ContactChannel.Sms, ConsentStatus.Denied, T0)]),
            Observation("o2", T0, [1], [new("service", ContactChannel.Email, ConsentStatus.Granted, T0)]));
        Assert.Equal(3, content.Consents.Count);
        Assert.All(content.Consents, p => Assert.Equal(p.Key, p.Value.Slot));
    }

    [Fact]
    public void Contradicting_consents_inside_one_observation_follow_the_same_policy()
    {
        var content = From(Observation("o1", T0, [1], [Marketing(ConsentStatus.Granted, 1), Marketing(ConsentStatus.Denied, 1), Marketing(ConsentStatus.Granted, 0)]));
        Assert.Equal(ConsentStatus.Denied, content.Consents.Values.Single().Status);
    }

    [Fact]
    public void The_last_attribute_writer_by_utc_day_wins()
    {
        var early = Observation("o9", T0, [1], attributes: new Dictionary<string, string> { ["city"] = "Vejle", ["name"] = "Ann" });
        var late = Observation("o1", T0.AddHours(12), [2], attributes: new Dictionary<string, string> { ["city"] = "Odense" });
        foreach (var content in new[] { Join(early, late), Join(late, early) })
        {
            Assert.Equal("Odense", content.Attributes["city"].Value);
            Assert.Equal("o1", content.Attributes["city"].ObservationId);
            Assert.Equal("Ann", content.Attributes["name"].Value);
        }
    }

    /// <summary>
    /// Contract change: within one UTC day the larger value wins (it used to be the later event time, then the larger
    /// observation id), and the same value keeps its earliest sighting of the day, so seeing it again writes nothing.
    /// </summary>
    [Fact]
    public void Within_one_utc_day_the_larger_value_wins_and_keeps_its_earliest_sighting()
    {
        var a = Observation("o1", T0, [1], attributes: new Dictionary<string, string> { ["city"] = "Vejle" });
        var b = Observation("o2", T0.AddMinutes(30), [1], attributes: new Dictionary<string, string> { ["city"] = "Aarhus" });
        Assert.Equal("Vejle", Join(a, b).Attributes["city"].Value);
        Assert.Equal("Vejle", Join(b, a).Attributes["city"].Value);

        var x = new AttributeRecord("city", "Aarhus", T0, "o1");
        var y = new AttributeRecord("city", "Vejle", T0, "o1");
        Assert.Same(y, AttributeRecord.Winner(x, y));
        Assert.Same(y, AttributeRecord.Winner(y, x));

        var first = new AttributeRecord("city", "Vejle", T0, "o5");
        var later = new AttributeRecord("city", "Vejle", T0.AddHours(3), "o1");
        var sameTime = new AttributeRecord("city", "Vejle", T0, "o7");
        Assert.Same(first, AttributeRecord.Winner(first, later));
        Assert.Same(first, AttributeRecord.Winner(later, first));
        Assert.Same(first, AttributeRecord.Winner(sameTime, first));
        Assert.Same(first, AttributeRecord.Winner(first, sameTime));
    }

    [Fact]
    public void Evidence_is_kept_only_for_observations_with_two_or_more_identifiers()
    {
        Assert.Empty(From(Observation("o1", T0, [1])).Evidence);
        var evidence = From(Observation("o2", T0, [3, 1], channel: Channel.Store, source: "pos")).Evidence.Values.Single();
        Assert.Equal(new LinkEvidence("o2", T0, "pos", Channel.Store, [new("k1"), new("k3")]), evidence);
        Assert.Equal("k1,k3", evidence.KeySet.ToString());
    }

    [Fact]
    public void Evidence_is_unique_per_key_set_and_keeps_the_earliest()
    {
        var content = Join(
            Observation("o3", T0.AddMinutes(1), [1, 2]),
            Observation("o2", T0, [1, 2]),
            Observation("o1", T0.AddMinutes(1), [1, 2]),
            Observation("o4", T0.AddMinutes(2), [1, 2, 3]));
        Assert.Equal(["o2", "o4"], content.Evidence.Values.Select(e => e.ObservationId).Order(StringComparer.Ordinal));

        var tie = Join(Observation("o3", T0, [1, 2]), Observation("o1", T0, [1, 2]));
        Assert.Equal("o1", tie.Evidence.Values.Single().ObservationId);
    }

    [Fact]
    public void Evidence_is_bounded_to_the_earliest_MaxEvidence()
    {
        const int count = ProfileContent.MaxEvidence + 20;
        var pairs = (from i in Enumerable.Range(0, 20) from j in Enumerable.Range(i + 1, 19 - i) select (i, j)).Take(count).ToList();
        var observations = pairs
            .Select((p, n) => Observation($"o{n:D3}", T0.AddSeconds(count - n), [p.i, p.j]))
            .ToList();
        var content = Fold(observations);
        Assert.Equal(ProfileContent.MaxEvidence, content.Evidence.Count);

        // Later observations (by index) have earlier times: the last MaxEvidence observations are kept.
        var expected = observations.Skip(count - ProfileContent.MaxEvidence).Select(o => o.ObservationId).Order(StringComparer.Ordinal);
        Assert.Equal(expected, content.Evidence.Values.Select(e => e.ObservationId).Order(StringComparer.Ordinal));
        Assert.Equal(content, Fold(Enumerable.Reverse(observations)));
    }

    [Fact]
    public void Delta_holds_only_what_changes()
    {
        var before = Join(Observation("o1", T0.AddMinutes(1), [1, 2], [Marketing(ConsentStatus.Granted, 1)], new Dictionary<string, string> { ["city"] = "Aarhus" }));

        // Later the same day: only the new identifier and the new attribute; k2, the consent, city and updated_at stand.
        var sameDay = From(Observation("o2", T0.AddMinutes(2), [2, 3], [Marketing(ConsentStatus.Granted, 5)], new Dictionary<string, string> { ["city"] = "Aarhus", ["name"] = "Ann" }));
        var delta = before.Delta(sameDay);
        Assert.Equal([new IdentifierKey("k3")], delta.Identifiers.Keys);
        Assert.Empty(delta.Consents);
        Assert.Equal(["name"], delta.Attributes.Keys);
        Assert.Null(delta.CreatedAt);
        Assert.Null(delta.UpdatedAt);
        Assert.Equal(before.Join(sameDay), before.Join(delta));
        Assert.True(before.Join(sameDay).Delta(sameDay).IsEmpty);

        // The next day: k2 is seen on a new day, city is confirmed on a new day; the consent, decided (again) on the first
        // day, stands.
        var nextDay = From(Observation("o3", T0.AddDays(1), [2, 3], [Marketing(ConsentStatus.Granted, 5)], new Dictionary<string, string> { ["city"] = "Aarhus", ["name"] = "Ann" }));
        delta = before.Delta(nextDay);
        Assert.Equal([new IdentifierKey("k2"), new IdentifierKey("k3")], delta.Identifiers.Keys);
        Assert.Empty(delta.Consents);
        Assert.Equal(["city", "name"], delta.Attributes.Keys);
        Assert.Null(delta.CreatedAt);
        Assert.Equal(UtcDay.StartOf(T0.AddDays(1)), delta.UpdatedAt);
        Assert.Equal(before.Join(nextDay), before.Join(delta));
        Assert.True(before.Join(nextDay).Delta(nextDay).IsEmpty);
    }

    [Fact]
    public void Merged_profile_ids_are_a_union()
    {
        var a = ProfileId.For("a", T0);
        var b = ProfileId.For("b", T0);
        var c = ProfileId.For("c", T0);
        var content = ProfileContent.Empty.WithMergedProfileIds([a, b]).Join(ProfileContent.Empty.WithMergedProfileIds([b, c]));
        Assert.True(content.MergedProfileIds.SetEquals([a, b, c]));
        Assert.False(content.IsEmpty);
    }

    [Fact]
    public void Equality_is_structural()
    {
        var one = Join(Observation("o1", T0, [1, 2], [Marketing(ConsentStatus.Denied, 0)]));
        var two = Join(Observation("o1", T0, [2, 1], [Marketing(ConsentStatus.Denied, 0)]));
        Assert.Equal(one, two);
        Assert.Equal(one.GetHashCode(), two.GetHashCode());
        Assert.NotEqual(one, Join(Observation("o1", T0, [1, 2], [Marketing(ConsentStatus.Granted, 0)])));
        Assert.NotEqual(one, one.WithMergedProfileIds([ProfileId.For("x", T0)]));
    }
}
