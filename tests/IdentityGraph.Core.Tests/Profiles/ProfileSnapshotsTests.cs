using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using static IdentityGraph.Core.Tests.Profiles.ProfileGenerators;

namespace IdentityGraph.Core.Tests.Profiles;

public sealed class ProfileSnapshotsTests
{
    private static KeyedIdentifier Keyed(string key, IdentifierType type, string ns, string value) =>
        new(new IdentifierKey(key), new NormalizedIdentifier(type, ns, value));

    [Fact]
    public void ToContract_maps_every_field()
    {
        var merged1 = ProfileId.For("m1", T0.AddDays(1));
        var merged2 = ProfileId.For("m2", T0.AddDays(2));
        NormalizedObservation first = new(
            "o1", "webshop", Channel.Web, T0,
            [Keyed("k1", IdentifierType.Phone, "", "+4512345678"), Keyed("k2", IdentifierType.MembershipCard, "club", "ABC")],
            [new ConsentChoice("marketing", ContactChannel.Email, ConsentStatus.Granted, T0.AddMinutes(-5))],
            new Dictionary<string, string> { ["city"] = "Aarhus" },
            []);
        NormalizedObservation second = new(
            "o2", "pos", Channel.Store, T0.AddMinutes(10),
            [Keyed("k1", IdentifierType.Phone, "", "+4512345678")],
            [new ConsentChoice("marketing", ContactChannel.Sms, ConsentStatus.Denied, T0.AddMinutes(9))],
            new Dictionary<string, string> { ["name"] = "Ann" },
            []);
        var content = Fold([first, second]).WithMergedProfileIds([merged2, merged1]);
        var id = ProfileId.For("o1", T0);

        var profile = ProfileSnapshots.ToContract(id, new ProfileState(7, ProfileStatus.Live, null, content));

        Assert.Equal(id.Value, profile.ProfileId);
        Assert.Equal(7, profile.Version);
        Assert.Equal(2, profile.Identifiers.Count);
        var phone = Assert.Single(profile.Identifiers, i => i.Type == IdentifierType.Phone);
        Assert.Equal(("+4512345678", ""), (phone.Value, phone.Namespace));
        Assert.Equal(Timestamp.FromDateTimeOffset(T0), phone.FirstSeen);
        Assert.Equal(Timestamp.FromDateTimeOffset(UtcDay.StartOf(T0)), phone.LastSeen); // the UTC day of the latest sighting
        Assert.Equal([Channel.Web, Channel.Store], phone.Channels);
        var card = Assert.Single(profile.Identifiers, i => i.Type == IdentifierType.MembershipCard);
        Assert.Equal(("ABC", "club"), (card.Value, card.Namespace));
        Assert.Equal([Channel.Web], card.Channels);

        Assert.Equal([merged1.Value, merged2.Value], profile.MergedProfileIds);

        Assert.Equal(2, profile.Consents.Count);
        var email = Assert.Single(profile.Consents, c => c.Channel == ContactChannel.Email);
        Assert.Equal(
            new ProfileConsent
            {
                Purpose = "marketing",
                Channel = ContactChannel.Email,
                Status = ConsentStatus.Granted,
                DecidedAt = Timestamp.FromDateTimeOffset(T0.AddMinutes(-5)),
                ObservationId = "o1",
            },
            email);
        var sms = Assert.Single(profile.Consents, c => c.Channel == ContactChannel.Sms);
        Assert.Equal((ConsentStatus.Denied, "o2"), (sms.Status, sms.ObservationId));

        Assert.Equal(new Dictionary<string, string> { ["city"] = "Aarhus", ["name"] = "Ann" }, profile.Attributes);
        Assert.Equal(Timestamp.FromDateTimeOffset(T0), profile.CreatedAt);
        Assert.Equal(Timestamp.FromDateTimeOffset(UtcDay.StartOf(T0)), profile.UpdatedAt);
    }

    /// <summary>profile.proto: identifiers ordered by type, namespace, value; consents by purpose then channel.</summary>
    [Fact]
    public void ToContract_orders_identifiers_and_consents_as_the_contract_says()
    {
        // Keys (pseudonymous hashes) sort differently from the identifiers they stand for.
        NormalizedObservation observation = new(
            "o1", "webshop", Channel.Web, T0,
            [
                Keyed("a", IdentifierType.PaymentToken, "psp", "tok"),
                Keyed("b", IdentifierType.MembershipCard, "club", "B"),
                Keyed("c", IdentifierType.MembershipCard, "club", "A"),
                Keyed("d", IdentifierType.MembershipCard, "alpha", "Z"),
                Keyed("e", IdentifierType.Email, "", "z@x.dk"),
            ],
            [
                new ConsentChoice("service", ContactChannel.Email, ConsentStatus.Granted, T0),
                new ConsentChoice("marketing", ContactChannel.Sms, ConsentStatus.Granted, T0),
                new ConsentChoice("marketing.partners", ContactChannel.Email, ConsentStatus.Granted, T0),
                new ConsentChoice("marketing", ContactChannel.Email, ConsentStatus.Granted, T0),
            ],
            new Dictionary<string, string>(),
            []);
        var profile = ProfileSnapshots.ToContract(
            ProfileId.For("o1", T0), new ProfileState(1, ProfileStatus.Live, null, ProfileContent.FromObservation(observation)));

        Assert.Equal(
            ["Email||z@x.dk", "MembershipCard|alpha|Z", "MembershipCard|club|A", "MembershipCard|club|B", "PaymentToken|psp|tok"],
            profile.Identifiers.Select(i => $"{i.Type}|{i.Namespace}|{i.Value}"));
        Assert.Equal(
            ["marketing|Email", "marketing|Sms", "marketing.partners|Email", "service|Email"],
            profile.Consents.Select(c => $"{c.Purpose}|{c.Channel}"));
    }

    [Fact]
    public void ToContract_of_a_merged_away_profile_has_only_id_and_version()
    {
        var id = ProfileId.For("o1", T0);
        var profile = ProfileSnapshots.ToContract(id, new ProfileState(3, ProfileStatus.MergedAway, ProfileId.For("x", T0.AddDays(-1)), ProfileContent.Empty));
        Assert.Equal(new Profile { ProfileId = id.Value, Version = 3 }, profile);
        Assert.Null(profile.CreatedAt);
        Assert.Null(profile.UpdatedAt);
    }
}
