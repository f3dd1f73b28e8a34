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
    public void Identifiers_keep_first_seen_min_last_seen_max_and_channels_union()
    {
        var content = Join(
            Observation("o2", T0.AddMinutes(5), [1, 2], channel: Channel.Store),
            Observation("o1", T0, [1], channel: Channel.Web),
            Observation("o3", T0.AddMinutes(2), [1], channel: Channel.Web));
        var one = content.Identifiers[new IdentifierKey("k1")];
        Assert.Equal(T0, one.FirstSeen);
        Assert.Equal(T0.AddMinutes(5), one.LastSeen);
        Assert.Equal([Channel.Web, Channel.Store], one.Channels);
        Assert.Equal(Identifier(1).Identifier, one.Identifier);
        var two = content.Identifiers[new IdentifierKey("k2")];
        Assert.Equal((T0.AddMinutes(5), T0.AddMinutes(5)), (two.FirstSeen, two.LastSeen));
        Assert.Equal([Channel.Store], two.Channels);
    }

    [Fact]
    public void Created_at_is_the_earliest_and_updated_at_the_latest_event_time()
    {
        var content = Join(Observation("o2", T0.AddMinutes(5), [1]), Observation("o1", T0, [2]), Observation("o3", T0.AddMinutes(3), [3]));
        Assert.Equal(T0, content.CreatedAt);
        Assert.Equal(T0.AddMinutes(5), content.UpdatedAt);
    }

    [Fact]
    public void A_later_consent_decision_wins_whatever_its_status()
    {
        var granted = Observation("o1", T0, [1], [Marketing(ConsentStatus.Granted, 3)]);
        var denied = Observation("o2", T0, [1], [Marketing(ConsentStatus.Denied, 2)]);
        Assert.Equal(ConsentStatus.Granted, Join(granted, denied).Consents.Values.Single().Status);
        Assert.Equal(ConsentStatus.Granted, Join(denied, granted).Consents.Values.Single().Status);
        Assert.Equal("o1", Join(denied, granted).Consents.Values.Single().ObservationId);
    }

    [Fact]
    public void On_a_tie_in_decided_at_denied_wins()
    {
        var granted = Observation("o9", T0, [1], [Marketing(ConsentStatus.Granted, 2)]);
        var denied = Observation("o1", T0, [1], [Marketing(ConsentStatus.Denied, 2)]);
        var winner = Join(granted, denied).Consents.Values.Single();
        Assert.Equal(ConsentStatus.Denied, winner.Status);
        Assert.Equal("o1", winner.ObservationId);
        Assert.Equal(winner, Join(denied, granted).Consents.Values.Single());
    }

    [Fact]
    public void On_a_tie_in_decided_at_and_status_the_larger_observation_id_wins()
    {
        var a = Observation("o1", T0.AddMinutes(9), [1], [Marketing(ConsentStatus.Granted, 2)]);
        var b = Observation("o2", T0, [1], [Marketing(ConsentStatus.Granted, 2)]);
        Assert.Equal("o2", Join(a, b).Consents.Values.Single().ObservationId);
        Assert.Equal("o2", Join(b, a).Consents.Values.Single().ObservationId);
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
    public void The_last_attribute_writer_by_event_time_wins()
    {
        var early = Observation("o9", T0, [1], attributes: new Dictionary<string, string> { ["city"] = "Aarhus", ["name"] = "Ann" });
        var late = Observation("o1", T0.AddMinutes(1), [2], attributes: new Dictionary<string, string> { ["city"] = "Odense" });
        foreach (var content in new[] { Join(early, late), Join(late, early) })
        {
            Assert.Equal("Odense", content.Attributes["city"].Value);
            Assert.Equal("o1", content.Attributes["city"].ObservationId);
            Assert.Equal("Ann", content.Attributes["name"].Value);
        }
    }

    [Fact]
    public void Attribute_ties_go_to_the_larger_observation_id_then_the_larger_value()
    {
        var a = Observation("o1", T0, [1], attributes: new Dictionary<string, string> { ["city"] = "Vejle" });
        var b = Observation("o2", T0, [1], attributes: new Dictionary<string, string> { ["city"] = "Aarhus" });
        Assert.Equal("Aarhus", Join(a, b).Attributes["city"].Value);
        Assert.Equal("Aarhus", Join(b, a).Attributes["city"].Value);

        var x = new AttributeRecord("city", "Aarhus", T0, "o1");
        var y = new AttributeRecord("city", "Vejle", T0, "o1");
        Assert.Same(y, AttributeRecord.Winner(x, y));
        Assert.Same(y, AttributeRecord.Winner(y, x));
    }

    [Fact]
    public void Evidence_is_kept_only_for_observations_with_two_or_more_identifiers()
    {
        Assert.Empty(From(Observation("o1", T0, [1])).Evidence);
        var evidence = From(Observation("o2", T0, [3, 1], channel: Channel.Store, source: "pos")).Evidence.Values.Single();
        Assert.Equal(new LinkEvidence("o2", T0, "pos", Channel.Store, [new("k1"), new("k3")]), evidence);
        Assert.Equal("k1,k3", evidence.KeySet);
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
        var update = From(Observation("o2", T0.AddMinutes(2), [2, 3], [Marketing(ConsentStatus.Granted, 0)], new Dictionary<string, string> { ["city"] = "Aarhus", ["name"] = "Ann" }));
        var delta = before.Delta(update);
        Assert.Equal([new IdentifierKey("k2"), new IdentifierKey("k3")], delta.Identifiers.Keys);
        Assert.Empty(delta.Consents);
        Assert.Equal(["city", "name"], delta.Attributes.Keys);
        Assert.Null(delta.CreatedAt);
        Assert.Equal(T0.AddMinutes(2), delta.UpdatedAt);
        Assert.Equal(before.Join(update), before.Join(delta));
        Assert.True(before.Join(update).Delta(update).IsEmpty);
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
