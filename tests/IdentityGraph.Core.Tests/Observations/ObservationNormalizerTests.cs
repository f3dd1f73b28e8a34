using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Core.Tests.Observations;

public sealed class ObservationNormalizerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private static readonly ObservationNormalizer Normalizer = new(
        new IdentifierNormalizer(new NormalizationOptions
        {
            DefaultPhoneRegion = "DK",
            PhoneRegionBySource = new Dictionary<string, string> { ["pos-se"] = "SE" },
        }),
        new IdentifierKeyer(IdentifierKeyer.DevelopmentSecret),
        clock: new FixedClock(Now));

    private static Observation Valid() => new()
    {
        ObservationId = "obs-1",
        Source = "webshop",
        Channel = Channel.Web,
        ObservedAt = Timestamp.FromDateTimeOffset(Now.AddHours(-1)),
        Identifiers =
        {
            new Identifier { Type = IdentifierType.Email, Value = "Ann@Shop.dk" },
            new Identifier { Type = IdentifierType.Phone, Value = "12 34 56 78" },
        },
        Consents = { new Consent { Purpose = "Marketing", Channel = ContactChannel.Email, Status = ConsentStatus.Granted } },
        Attributes = { ["first_name"] = "Ann" },
    };

    [Fact]
    public void A_valid_observation_is_normalised_keyed_and_ordered()
    {
        var result = Normalizer.Normalize(Valid());
        Assert.True(result.IsValid, result.Error?.ToString());
        var o = result.Observation!;
        Assert.Equal("obs-1", o.ObservationId);
        Assert.Equal(Now.AddHours(-1), o.ObservedAt);
        Assert.Equal(2, o.Identifiers.Count);
        Assert.Equal(o.Identifiers.OrderBy(i => i.Key).Select(i => i.Key), o.Identifiers.Select(i => i.Key));
        Assert.Contains(o.Identifiers, i => i.Identifier.Value == "+4512345678");
        var consent = Assert.Single(o.Consents);
        Assert.Equal(new ConsentChoice("marketing", ContactChannel.Email, ConsentStatus.Granted, o.ObservedAt), consent);
        Assert.Equal("Ann", o.Attributes["first_name"]);
        Assert.Empty(o.Dropped);
    }

    [Fact]
    public void Duplicate_identifiers_collapse_to_one()
    {
        var observation = Valid();
        observation.Identifiers.Add(new Identifier { Type = IdentifierType.Email, Value = " ANN@shop.DK " });
        Assert.Equal(2, Normalizer.Normalize(observation).Observation!.Identifiers.Count);
    }

    [Fact]
    public void Invalid_identifiers_are_dropped_with_their_reason_and_the_rest_is_kept()
    {
        var observation = Valid();
        observation.Identifiers.Add(new Identifier { Type = IdentifierType.PaymentToken, Value = "4111 1111 1111 1111" });
        var result = Normalizer.Normalize(observation);
        Assert.True(result.IsValid);
        var dropped = Assert.Single(result.Observation!.Dropped);
        Assert.Equal(IdentifierErrorCodes.PaymentTokenRawPan, dropped.Error.Code);
        Assert.Equal(2, result.Observation.Identifiers.Count);
    }

    [Fact]
    public void The_source_selects_the_phone_region()
    {
        var observation = Valid();
        observation.Source = "pos-se";
        observation.Identifiers.RemoveAt(0);
        observation.Identifiers[0].Value = "070-123 45 67";
        Assert.Equal("+46701234567", Normalizer.Normalize(observation).Observation!.Identifiers[0].Identifier.Value);
    }

    [Fact]
    public void Unknown_channels_are_other()
    {
        var observation = Valid();
        observation.Channel = (Channel)42;
        Assert.Equal(Channel.Other, Normalizer.Normalize(observation).Observation!.Channel);
    }

    public static TheoryData<string, Action<Observation>> Refusals => new()
    {
        { ObservationErrorCodes.MissingId, o => o.ObservationId = "  " },
        { ObservationErrorCodes.IdInvalid, o => o.ObservationId = new string('x', 257) },
        { ObservationErrorCodes.SourceInvalid, o => o.Source = "a\nb" },
        { ObservationErrorCodes.MissingObservedAt, o => o.ObservedAt = null },
        { ObservationErrorCodes.ObservedAtOutOfRange, o => o.ObservedAt = new Timestamp { Seconds = -5 } },
        { ObservationErrorCodes.ObservedAtOutOfRange, o => o.ObservedAt = Timestamp.FromDateTimeOffset(Now.AddDays(2)) },
        { ObservationErrorCodes.ObservedAtOutOfRange, o => o.ObservedAt = new Timestamp { Seconds = long.MaxValue } },
        { ObservationErrorCodes.NoIdentifiers, o => o.Identifiers.Clear() },
        {
            ObservationErrorCodes.NoValidIdentifier, o =>
            {
                o.Identifiers.Clear();
                o.Identifiers.Add(new Identifier { Type = IdentifierType.Phone, Value = "123" });
            }
        },
        {
            ObservationErrorCodes.TooManyIdentifiers, o =>
            {
                for (var i = 0; i < 10_000; i++)
                {
                    o.Identifiers.Add(new Identifier { Type = IdentifierType.CustomerId, Value = $"c{i}" });
                }
            }
        },
        { ObservationErrorCodes.ConsentPurposeInvalid, o => o.Consents[0].Purpose = "market ing" },
        { ObservationErrorCodes.ConsentChannelUnspecified, o => o.Consents[0].Channel = ContactChannel.Unspecified },
        { ObservationErrorCodes.ConsentStatusUnspecified, o => o.Consents[0].Status = ConsentStatus.Unspecified },
        { ObservationErrorCodes.ConsentDecidedAtOutOfRange, o => o.Consents[0].DecidedAt = Timestamp.FromDateTimeOffset(Now.AddDays(3)) },
        { ObservationErrorCodes.AttributeInvalid, o => o.Attributes["bad key"] = "x" },
        { ObservationErrorCodes.AttributeInvalid, o => o.Attributes["note"] = new string('x', 1025) },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Structurally_bad_observations_are_refused_with_a_code(string code, Action<Observation> spoil)
    {
        var observation = Valid();
        spoil(observation);
        var result = Normalizer.Normalize(observation);
        Assert.False(result.IsValid);
        Assert.Equal(code, result.Error!.Code);
        Assert.DoesNotContain("Ann@Shop.dk", result.Error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_consent_without_a_decision_time_takes_the_observation_time_and_keeps_its_own_otherwise()
    {
        var observation = Valid();
        var decided = Now.AddDays(-30);
        observation.Consents.Add(new Consent
        {
            Purpose = "profiling",
            Channel = ContactChannel.Sms,
            Status = ConsentStatus.Denied,
            DecidedAt = Timestamp.FromDateTimeOffset(decided),
        });
        var consents = Normalizer.Normalize(observation).Observation!.Consents;
        Assert.Equal(decided, consents.Single(c => c.Purpose == "profiling").DecidedAt);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
