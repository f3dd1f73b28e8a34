using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Resolution;

namespace IdentityGraph.Cluster.Tests.Graph;

/// <summary>
/// A set of observations over a small identifier space (so that they collide and merge): each observation names its
/// identifiers by index and carries an event-time offset, which decides which profile id is the smallest.
/// </summary>
public sealed record Scenario(int Identifiers, IReadOnlyList<(int[] Members, int Seconds)> Observations)
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Random sets, long chains (each observation links i and i+1, in random time order) and hubs (one identifier in all).</summary>
    public static Arbitrary<Scenario> Arbitrary { get; } = Gen.OneOf(RandomSets(), Chains(), Hubs()).ToArbitrary();

    /// <summary>The observations as channel systems would send them; identifiers are unique to <paramref name="run"/>.</summary>
    public IReadOnlyList<Observation> ToObservations(string run) =>
    [
        .. Observations.Select((o, i) =>
        {
            var observation = new Observation
            {
                ObservationId = $"{run}-{i}",
                Source = "test",
                Channel = Channel.Web,
                ObservedAt = Timestamp.FromDateTimeOffset(Start.AddSeconds(o.Seconds)),
            };
            observation.Identifiers.Add(o.Members.Select(m => new Identifier { Type = IdentifierType.Email, Value = $"u{m}.{run}@example.com" }));
            observation.Attributes["seen"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return observation;
        }),
    ];

    /// <summary>The partition the Core reference resolver gives.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> ReferencePartition(IEnumerable<NormalizedObservation> observations)
    {
        var reference = new ReferenceResolver();
        foreach (var observation in observations)
        {
            reference.Add(observation);
        }

        return ReferenceResolver.Canonicalize(reference.Partition());
    }

    /// <summary>
    /// The partition the graph holds, read back through the resolver: every identifier's live profile, and that
    /// profile's own identifier list, which must agree (no identifier in two profiles, none lost).
    /// </summary>
    public static async Task<IReadOnlyList<IReadOnlyList<string>>> GraphPartition(IdentityResolver resolver, IEnumerable<NormalizedObservation> observations)
    {
        var keys = observations.SelectMany(o => o.Identifiers).Select(i => i.Key).Distinct().ToList();
        var holders = await Task.WhenAll(keys.Select(async k => (Key: k, Profile: await resolver.FindProfileByKeyAsync(k))));
        var groups = new List<IEnumerable<IdentifierKey>>();
        foreach (var group in holders.GroupBy(h => h.Profile))
        {
            Assert.True(group.Key is not null, "an identifier of an acknowledged observation has no profile");
            var profile = await resolver.GetProfileAsync(group.Key!.Value);
            Assert.NotNull(profile);
            var held = profile.Content.Identifiers.Keys.Where(k => keys.Contains(k)).Order().ToList();
            Assert.Equal(group.Select(g => g.Key).Order().ToList(), held);
            groups.Add(group.Select(g => g.Key));
        }

        return ReferenceResolver.Canonicalize(groups);
    }

    private static Gen<Scenario> RandomSets() =>
        from n in Gen.Choose(2, 30)
        from m in Gen.Choose(1, 40)
        from observations in Gen.ListOf(
            from size in Gen.Choose(1, 4)
            from members in Gen.ArrayOf(Gen.Choose(0, n - 1), size)
            from seconds in Gen.Choose(0, 1000)
            select (members, seconds), m)
        select new Scenario(n, [.. observations]);

    private static Gen<Scenario> Chains() =>
        from n in Gen.Choose(3, 40)
        from seconds in Gen.ArrayOf(Gen.Choose(0, 1000), n - 1)
        select new Scenario(n, [.. Enumerable.Range(0, n - 1).Select(i => (new[] { i, i + 1 }, seconds[i]))]);

    private static Gen<Scenario> Hubs() =>
        from n in Gen.Choose(3, 40)
        from seconds in Gen.ArrayOf(Gen.Choose(0, 1000), n - 1)
        select new Scenario(n, [.. Enumerable.Range(1, n - 1).Select(i => (new[] { 0, i }, seconds[i - 1]))]);
}
