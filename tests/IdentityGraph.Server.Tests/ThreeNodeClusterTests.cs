using System.Diagnostics;
using IdentityGraph.Cluster.Tests.Infrastructure;
using IdentityGraph.Server.Tests.Support;
using Xunit.Abstractions;

namespace IdentityGraph.Server.Tests;

/// <summary>
/// Three <c>identitygraph serve</c> processes on one PostgreSQL journal and the dev broker, as the Helm chart runs them:
/// a stream with malformed records, a <c>kill -9</c> of one node and a rolling restart of another mid-stream, and
/// afterwards the downstream view, <c>export</c> and the dead-letter topic must say exactly what the reference says.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class ThreeNodeClusterTests(PostgresServer postgres, ITestOutputHelper output)
{
    // A node killed without leaving keeps its partitions for about two group session time-outs on the dev broker
    // (6 s each), and its shards until the split-brain resolver downs it (about 25 s) or its restart replaces it. The
    // whole test takes about two minutes here on a loaded machine; this limit only bounds a failure.
    private static readonly TimeSpan Settle = TimeSpan.FromMinutes(3);

    [PostgresFact]
    public async Task Three_nodes_survive_a_kill_and_a_rolling_restart_and_publish_exactly_the_reference()
    {
        var clock = Stopwatch.StartNew();
        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {what}");

        await using var rig = await KafkaRig.StartBrokerAsync(partitions: 6);
        var persistence = "postgres:" + await postgres.CreateDatabaseAsync("threenodes");
        var cluster = new ServeCluster(rig, persistence, nodes: 3);
        await cluster.StartAllAsync();
        Step("three nodes ready");

        var workload = await Workload.CreateAsync(rig, new ObservationGenerator(seed: 313, customers: 700, householdLinkRate: 0.08, malformedRate: 0.02), 3000);
        var chunks = workload.Chunks(4);

        await workload.ProduceAsync(chunks[0]);
        var published = await workload.WaitForPublishedAsync(atLeast: 200);
        // Node 0 is the oldest member: the first seed and the node that runs the outbox singleton.
        await cluster.KillAsync(0);
        Step($"node 0 killed (-9) after {published} profile events");
        await workload.ProduceAsync(chunks[1]);
        await cluster.StartAsync(0);
        Step("node 0 restarted and ready");
        await workload.ProduceAsync(chunks[2]);
        Assert.Equal(0, await cluster.StopAsync(1, TimeSpan.FromSeconds(60)));
        Step("node 1 stopped (SIGTERM)");
        await cluster.StartAsync(1);
        Step("node 1 restarted and ready");
        await workload.ProduceAsync(chunks[3]);

        var profiles = await workload.AssertViewEqualsReferenceAsync(Settle, persistence);
        Step($"downstream view = reference: {profiles} profiles");
        await workload.AssertExportEqualsReferenceAsync(persistence);
        var (events, distinct) = workload.AssertChangelogComplete();
        var deadLetters = workload.AssertDeadLettersAreExactlyTheMalformed();
        Step($"{events} profile events ({distinct} distinct), {deadLetters} dead letters for {workload.Refused.Count} malformed records");
    }
}
