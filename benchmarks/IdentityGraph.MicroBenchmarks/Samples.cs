using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.MicroBenchmarks;

/// <summary>The inputs every benchmark uses: one observation shaped like the load benchmark's (untidy e-mail, phone, card, token, device).</summary>
public static class Samples
{
    public static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static IdentifierNormalizer IdentifierNormalizer { get; } = new(NormalizationOptions.Default);

    public static IdentifierKeyer Keyer { get; } = new(IdentifierKeyer.DevelopmentSecret);

    public static ObservationNormalizer ObservationNormalizer { get; } = new(IdentifierNormalizer, Keyer);

    /// <summary>Observation number <paramref name="i"/>: customer i's e-mail, phone and membership card, plus a payment token and a device.</summary>
    public static Observation Observation(int i)
    {
        var observation = new Observation
        {
            ObservationId = $"bench-{i}",
            Source = "pos-store-042",
            Channel = Channel.Store,
            ObservedAt = Timestamp.FromDateTimeOffset(Start.AddSeconds(i)),
        };
        observation.Identifiers.Add(new Identifier { Type = IdentifierType.Email, Value = $" Customer.{i}@Shop{i % 7}.Example.com " });
        observation.Identifiers.Add(new Identifier { Type = IdentifierType.Phone, Value = $"+45 {20_000_000 + i}" });
        observation.Identifiers.Add(new Identifier { Type = IdentifierType.MembershipCard, Namespace = "club", Value = $"m-{i:D9}" });
        observation.Identifiers.Add(new Identifier { Type = IdentifierType.PaymentToken, Namespace = "psp", Value = $"tok_{i:x8}AbC" });
        observation.Identifiers.Add(new Identifier { Type = IdentifierType.DeviceId, Value = new Guid(i, 7, 7, 1, 2, 3, 4, 5, 6, 7, 8).ToString("D").ToUpperInvariant() });
        observation.Consents.Add(new Consent { Purpose = "marketing", Channel = ContactChannel.Email, Status = ConsentStatus.Granted, DecidedAt = observation.ObservedAt });
        observation.Attributes["first_name"] = $"Name{i % 997}";
        return observation;
    }

    public static NormalizedObservation Normalized(int i) =>
        ObservationNormalizer.Normalize(Observation(i)).Observation ?? throw new InvalidOperationException("The sample observation is invalid.");

    public static byte[] Protobuf(int i) => Observation(i).ToByteArray();

    public static byte[] Json(int i) => System.Text.Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(Observation(i)));
}
