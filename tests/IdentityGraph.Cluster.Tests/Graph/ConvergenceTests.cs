using FsCheck;
using FsCheck.Fluent;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Cluster.Tests.Infrastructure;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Cluster.Tests.Graph;

/// <summary>
/// The graph's invariant (docs/design.md › The graph): whatever the order, duplication and concurrency of the observations,
/// once they are acknowledged the live profiles partition the identifiers exactly as the Core reference resolver does.
/// The same suite runs on SQLite and on PostgreSQL.
/// </summary>
public abstract class ConvergenceTests
{
    protected abstract Task<StorageSettings> StorageAsync(string purpose);

    /// <summary>FsCheck scenarios, each submitted concurrently with random duplicates, on one running graph.</summary>
    protected async Task Concurrent_duplicated_observations_converge()
    {
        await using var graph = await TestGraph.StartAsync(await StorageAsync("convergence"));
        var run = 0;
        var property = Prop.ForAll(
            Scenario.Arbitrary,
            Gen.Choose(0, int.MaxValue).ToArbitrary(),
            (scenario, seed) => Submit(graph, scenario, $"r{run++}", seed).GetAwaiter().GetResult());
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25), property);
    }

    /// <summary>Terminates the actor system mid-stream, restarts on the same database and resubmits what was not acknowledged.</summary>
    protected async Task A_crash_mid_stream_then_resubmission_converges()
    {
        var storage = await StorageAsync("crash");
        var scenario = new Scenario(400, [.. Enumerable.Range(0, 600).Select(i => (new[] { i % 400, (i * 7 + 3) % 400, (i / 3) % 400 }, 599 - i))]);
        var observations = Normalize(scenario.ToObservations("crash"));

        var acknowledged = new bool[observations.Count];

        // Small batches, so that the crash finds many of them queued and one half-written (index claimed, profiles not).
        var smallBatches = new BatchingOptions { MaxSize = 8, MaxInFlight = 2 };
        await using (var graph = await TestGraph.StartAsync(storage, snapshotEvery: 5, batching: smallBatches))
        {
            // Crash as soon as a third is acknowledged (not after a polling delay: the graph may finish the rest in it).
            var third = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var acknowledgedCount = 0;
            var tasks = observations.Select(async (o, i) =>
            {
                try
                {
                    await graph.Resolver.ResolveAsync(o);
                    acknowledged[i] = true;
                    if (Interlocked.Increment(ref acknowledgedCount) >= observations.Count / 3)
                    {
                        third.TrySetResult();
                    }
                }
                catch (Exception)
                {
                    // Lost with the crash: resubmitted below, as Kafka would redeliver it.
                }
            }).ToList();

            await third.Task;
            await graph.System.Terminate();
            await Task.WhenAll(tasks);
        }

        Assert.Contains(false, acknowledged);
        await using (var graph = await TestGraph.StartAsync(storage, snapshotEvery: 5))
        {
            await Task.WhenAll(observations.Where((_, i) => !acknowledged[i]).Select(o => graph.Resolver.ResolveAsync(o)));
            Assert.Equal(Scenario.ReferencePartition(observations), await Scenario.GraphPartition(graph.Resolver, observations));
        }

        // And a third start recovers the same graph from snapshots and events alone.
        await using (var graph = await TestGraph.StartAsync(storage, snapshotEvery: 5))
        {
            Assert.Equal(Scenario.ReferencePartition(observations), await Scenario.GraphPartition(graph.Resolver, observations));
        }
    }

    private static List<NormalizedObservation> Normalize(IEnumerable<Contracts.V1.Observation> observations) =>
        [.. observations.Select(o => TestGraph.Normalizer.Normalize(o).Observation!)];

    private static async Task<bool> Submit(TestGraph graph, Scenario scenario, string run, int seed)
    {
        var observations = Normalize(scenario.ToObservations(run));
        var random = new Random(seed);
        var submissions = observations.SelectMany(o => Enumerable.Repeat(o, 1 + random.Next(3))).OrderBy(_ => random.Next()).ToList();

        // Many callers at once, as partitions of a Kafka topic would be.
        await Task.WhenAll(submissions.Select(o => Task.Run(() => graph.Resolver.ResolveAsync(o))));
        var expected = Scenario.ReferencePartition(observations);
        var actual = await Scenario.GraphPartition(graph.Resolver, observations);
        return expected.SequenceEqual(actual, PartitionComparer.Instance);
    }

    private sealed class PartitionComparer : IEqualityComparer<IReadOnlyList<string>>
    {
        public static PartitionComparer Instance { get; } = new();

        public bool Equals(IReadOnlyList<string>? x, IReadOnlyList<string>? y) => x is not null && y is not null && x.SequenceEqual(y);

        public int GetHashCode(IReadOnlyList<string> obj) => obj.Count;
    }
}

/// <summary>On an embedded SQLite file.</summary>
public sealed class SqliteConvergenceTests : ConvergenceTests, IDisposable
{
    [Fact]
    public Task Concurrent_duplicated_observations_converge_to_the_reference_partition() => Concurrent_duplicated_observations_converge();

    [Fact]
    public Task A_crash_mid_stream_and_a_resubmission_of_what_was_not_acknowledged_converge() => A_crash_mid_stream_then_resubmission_converges();

    private readonly string directory = Directory.CreateTempSubdirectory("identitygraph-test-").FullName;

    protected override Task<StorageSettings> StorageAsync(string purpose) =>
        Task.FromResult(StorageSettings.Parse($"sqlite:{Path.Combine(directory, purpose + ".db")}"));

    public void Dispose() => Directory.Delete(directory, recursive: true);
}

/// <summary>On a throw-away PostgreSQL 15 server.</summary>
[Collection(UsesPostgres.Name)]
public sealed class PostgresConvergenceTests(PostgresServer server) : ConvergenceTests
{
    [PostgresFact]
    public Task Concurrent_duplicated_observations_converge_to_the_reference_partition() => Concurrent_duplicated_observations_converge();

    [PostgresFact]
    public Task A_crash_mid_stream_and_a_resubmission_of_what_was_not_acknowledged_converge() => A_crash_mid_stream_then_resubmission_converges();

    protected override async Task<StorageSettings> StorageAsync(string purpose) =>
        StorageSettings.Parse("postgres:" + await server.CreateDatabaseAsync(purpose));
}
