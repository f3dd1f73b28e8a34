using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Google.Protobuf;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Cluster.Tests.Infrastructure;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using Xunit.Abstractions;

namespace IdentityGraph.Cluster.Tests.Graph;

/// <summary>
/// The graph's guard rails against hostile or careless producers, on a real graph: a reused observation id never
/// links strangers, and a profile stops growing at its limits. The same suite runs on SQLite and on PostgreSQL.
/// </summary>
public abstract class GraphGuardTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    protected abstract Task<StorageSettings> StorageAsync(string purpose);

    protected async Task A_reused_observation_id_with_other_identifiers_creates_two_profiles(bool reversed)
    {
        await using var graph = await TestGraph.StartAsync(await StorageAsync(reversed ? "reuse-ba" : "reuse-ab"));
        var a = GraphBehaviourTests.Observe("reused", T0, "ann@example.com", "+4512345678");
        var b = GraphBehaviourTests.Observe("reused", T0, "bob@example.com");
        var order = reversed ? new[] { b, a } : [a, b];

        var normalized = order.Select(o => TestGraph.Normalizer.Normalize(o).Observation!).ToList();
        var first = await graph.Resolver.ResolveAsync(normalized[0]);
        var second = await graph.Resolver.ResolveAsync(normalized[1]);

        Assert.NotEqual(first.ProfileId, second.ProfileId);
        Assert.Equal((ResolveOutcome.Created, ResolveOutcome.Created), (first.Outcome, second.Outcome));
        var expected = Scenario.ReferencePartition(normalized);
        Assert.Equal(2, expected.Count);
        Assert.Equal(expected, await Scenario.GraphPartition(graph.Resolver, normalized));

        // Each replay lands on its own profile and changes nothing.
        Assert.Equal(first with { Outcome = ResolveOutcome.NothingNew }, await graph.Resolver.ResolveAsync(normalized[0]));
        Assert.Equal(second with { Outcome = ResolveOutcome.NothingNew }, await graph.Resolver.ResolveAsync(normalized[1]));
    }

    /// <summary>
    /// 32 observations share one e-mail, each with 99 customer ids of its own and 63 attributes of its own with
    /// 1 KB values: the profile stops at the identifier limit, the surplus observations are refused with the code and
    /// leave nothing behind, the attributes stop at their cap, and the profile stays well below Kafka's 1 MB.
    /// </summary>
    protected async Task A_profile_stops_at_its_limits_and_stays_below_a_megabyte()
    {
        var limits = ProfileLimits.Default;
        var refusals = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        using var listener = ListenToRefusals(refusals);
        await using var graph = await TestGraph.StartAsync(await StorageAsync("limits"), limits: limits);

        var outcomes = new List<(NormalizedObservation Observation, string? Refused)>();
        for (var i = 0; i < 32; i++)
        {
            var observation = GraphBehaviourTests.Observe($"big-{i}", T0.AddMinutes(i), "shared@example.com");
            observation.Identifiers.Add(Enumerable.Range(0, 99).Select(j => new Identifier { Type = IdentifierType.CustomerId, Value = $"customer-{i:D2}-{j:D2}" }));
            foreach (var j in Enumerable.Range(0, 63))
            {
                observation.Attributes[$"a{i:D2}_{j:D2}"] = new string((char)('a' + (j % 26)), 1024);
            }

            var result = TestGraph.Normalizer.Normalize(observation);
            Assert.True(result.IsValid, result.Error?.ToString());
            var normalized = result.Observation!;
            try
            {
                await graph.Resolver.ResolveAsync(normalized);
                outcomes.Add((normalized, null));
            }
            catch (ObservationRejectedException e)
            {
                outcomes.Add((normalized, e.Error.Code));
            }
        }

        // 1 + 99 × 10 = 991 identifiers; the 11th observation would make it 1,090.
        Assert.Equal(10, outcomes.Count(o => o.Refused is null));
        Assert.All(outcomes.Skip(10), o => Assert.Equal(ProfileLimits.IdentifierLimitCode, o.Refused));
        var profile = await graph.Resolver.GetProfileByKeyAsync(outcomes[0].Observation.Identifiers[0].Key);
        Assert.NotNull(profile);
        Assert.Equal(991, profile.State.Content.Identifiers.Count);
        Assert.Equal(limits.MaxAttributes, profile.State.Content.Attributes.Count);

        // A refused observation leaves the graph as if it had never arrived: none of its new identifiers is held.
        foreach (var (observation, _) in outcomes.Skip(10))
        {
            Assert.All(observation.Identifiers.Where(i => i.Identifier.Type == IdentifierType.CustomerId), i =>
                Assert.Null(graph.Resolver.FindProfileByKeyAsync(i.Key).GetAwaiter().GetResult()));
        }

        // A re-sighting of what the full profile holds is still taken.
        Assert.Equal(ResolveOutcome.NothingNew, (await graph.Resolver.ResolveAsync(outcomes[3].Observation)).Outcome);

        var snapshot = Cluster.Serialization.WireMapping.ToWire(profile.Id, profile.State).CalculateSize();
        var published = ProfileSnapshots.ToContract(profile.Id, profile.State).CalculateSize();
        output.WriteLine($"full profile: {profile.State.Content.Identifiers.Count} identifiers, {profile.State.Content.Attributes.Count} attributes; snapshot {snapshot:N0} bytes, published profile {published:N0} bytes");
        Assert.True(snapshot < 1_000_000, $"snapshot {snapshot} bytes");
        Assert.True(published < 1_000_000, $"published profile {published} bytes");

        Assert.True(refusals.GetValueOrDefault(ProfileLimits.IdentifierLimitCode) >= 22, $"refusals: {string.Join(", ", refusals)}");
        Assert.True(refusals.GetValueOrDefault(ProfileLimits.AttributeLimitCode) >= (10 * 63) - limits.MaxAttributes, $"refusals: {string.Join(", ", refusals)}");
    }

    private static MeterListener ListenToRefusals(ConcurrentDictionary<string, long> refusals)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "identitygraph.profile_limit.refusals")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "reason" && tag.Value is string reason)
                {
                    refusals.AddOrUpdate(reason, value, (_, sum) => sum + value);
                }
            }
        });
        listener.Start();
        return listener;
    }
}

/// <summary>On an embedded SQLite file.</summary>
public sealed class SqliteGraphGuardTests(ITestOutputHelper output) : GraphGuardTests(output), IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("identitygraph-test-").FullName;

    [Fact]
    public Task A_reused_observation_id_with_other_identifiers_creates_two_profiles_a_then_b_on_sqlite() =>
        A_reused_observation_id_with_other_identifiers_creates_two_profiles(reversed: false);

    [Fact]
    public Task A_reused_observation_id_with_other_identifiers_creates_two_profiles_b_then_a_on_sqlite() =>
        A_reused_observation_id_with_other_identifiers_creates_two_profiles(reversed: true);

    [Fact]
    public Task A_profile_stops_at_its_limits_and_stays_below_a_megabyte_on_sqlite() => A_profile_stops_at_its_limits_and_stays_below_a_megabyte();

    protected override Task<StorageSettings> StorageAsync(string purpose) =>
        Task.FromResult(StorageSettings.Parse($"sqlite:{Path.Combine(directory, purpose + ".db")}"));

    public void Dispose() => Directory.Delete(directory, recursive: true);
}

/// <summary>On a throw-away PostgreSQL 15 server.</summary>
[Collection(UsesPostgres.Name)]
public sealed class PostgresGraphGuardTests(PostgresServer server, ITestOutputHelper output) : GraphGuardTests(output)
{
    [PostgresFact]
    public Task A_reused_observation_id_with_other_identifiers_creates_two_profiles_a_then_b_on_postgres() =>
        A_reused_observation_id_with_other_identifiers_creates_two_profiles(reversed: false);

    [PostgresFact]
    public Task A_reused_observation_id_with_other_identifiers_creates_two_profiles_b_then_a_on_postgres() =>
        A_reused_observation_id_with_other_identifiers_creates_two_profiles(reversed: true);

    [PostgresFact]
    public Task A_profile_stops_at_its_limits_and_stays_below_a_megabyte_on_postgres() => A_profile_stops_at_its_limits_and_stays_below_a_megabyte();

    protected override async Task<StorageSettings> StorageAsync(string purpose) =>
        StorageSettings.Parse("postgres:" + await server.CreateDatabaseAsync(purpose));
}
