using BenchmarkDotNet.Attributes;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.MicroBenchmarks;

/// <summary>Normalisation of one identifier per type, the keyed hash, and a whole observation (5 identifiers, 1 consent, 1 attribute).</summary>
[MemoryDiagnoser]
public class NormalizationBenchmarks
{
    private readonly IdentifierNormalizer normalizer = Samples.IdentifierNormalizer;
    private readonly Observation observation = Samples.Observation(123);
    private readonly NormalizedIdentifier email = new(IdentifierType.Email, "", "customer.123@shop4.example.com");

    [Benchmark]
    public IdentifierNormalization Email() => normalizer.Normalize(IdentifierType.Email, " Customer.123@Shop4.Example.com ");

    [Benchmark]
    public IdentifierNormalization Phone() => normalizer.Normalize(IdentifierType.Phone, "+45 20 00 01 23");

    [Benchmark]
    public IdentifierNormalization PhoneWithRegion() => normalizer.Normalize(IdentifierType.Phone, "20 00 01 23", phoneRegion: "DK");

    [Benchmark]
    public IdentifierNormalization MembershipCard() => normalizer.Normalize(IdentifierType.MembershipCard, "m-000 000-123", "club");

    [Benchmark]
    public IdentifierNormalization PaymentToken() => normalizer.Normalize(IdentifierType.PaymentToken, " tok_0000007bAbC ", "psp");

    [Benchmark]
    public IdentifierKey KeyedHash() => Samples.Keyer.KeyOf(email);

    [Benchmark]
    public ObservationNormalizer.Result Observation() => Samples.ObservationNormalizer.Normalize(observation);
}
