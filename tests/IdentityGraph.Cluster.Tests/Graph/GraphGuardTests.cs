using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Cluster.Tests.Infrastructure;

namespace IdentityGraph.Cluster.Tests.Graph;

/// <summary>
/// The graph's guard rails against hostile or careless producers, on a real graph: a reused observation id never
/// links strangers. The same suite runs on SQLite and on PostgreSQL.
/// </summary>
public abstract class GraphGuardTests
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
}

/// <summary>On an embedded SQLite file.</summary>
public sealed class SqliteGraphGuardTests : GraphGuardTests, IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("identitygraph-test-").FullName;

    [Fact]
    public Task A_reused_observation_id_with_other_identifiers_creates_two_profiles_a_then_b_on_sqlite() =>
        A_reused_observation_id_with_other_identifiers_creates_two_profiles(reversed: false);

    [Fact]
    public Task A_reused_observation_id_with_other_identifiers_creates_two_profiles_b_then_a_on_sqlite() =>
        A_reused_observation_id_with_other_identifiers_creates_two_profiles(reversed: true);

    protected override Task<StorageSettings> StorageAsync(string purpose) =>
        Task.FromResult(StorageSettings.Parse($"sqlite:{Path.Combine(directory, purpose + ".db")}"));

    public void Dispose() => Directory.Delete(directory, recursive: true);
}

/// <summary>On a throw-away PostgreSQL 15 server.</summary>
[Collection(UsesPostgres.Name)]
public sealed class PostgresGraphGuardTests(PostgresServer server) : GraphGuardTests
{
    [PostgresFact]
    public Task A_reused_observation_id_with_other_identifiers_creates_two_profiles_a_then_b_on_postgres() =>
        A_reused_observation_id_with_other_identifiers_creates_two_profiles(reversed: false);

    [PostgresFact]
    public Task A_reused_observation_id_with_other_identifiers_creates_two_profiles_b_then_a_on_postgres() =>
        A_reused_observation_id_with_other_identifiers_creates_two_profiles(reversed: true);

    protected override async Task<StorageSettings> StorageAsync(string purpose) =>
        StorageSettings.Parse("postgres:" + await server.CreateDatabaseAsync(purpose));
}
