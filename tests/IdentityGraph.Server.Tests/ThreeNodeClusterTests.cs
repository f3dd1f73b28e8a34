using System.Diagnostics;
using System.Text;
using IdentityGraph.Cluster.Tests.Infrastructure;
using IdentityGraph.Contracts.V1;
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

        var input = Path.Combine(rig.Directory, "observations.jsonl");
        var lines = new ObservationGenerator(seed: 313, customers: 700, householdLinkRate: 0.08, malformedRate: 0.02).JsonLines(3000).ToList();
        await File.WriteAllLinesAsync(input, lines);
        var chunks = lines.Chunk(750).ToList();
        Task Produce(int chunk) => Kcat.ProduceLinesAsync(rig.BootstrapServers, Kafka.Topics.Observations, chunks[chunk]);

        await Produce(0);
        var published = await WaitForPublishedAsync(rig, atLeast: 200);
        // Node 0 is the oldest member: the first seed and the node that runs the outbox singleton.
        await cluster.KillAsync(0);
        Step($"node 0 killed (-9) after {published} profile events");
        await Produce(1);
        await cluster.StartAsync(0);
        Step("node 0 restarted and ready");
        await Produce(2);
        Assert.Equal(0, await cluster.StopAsync(1, TimeSpan.FromSeconds(60)));
        Step("node 1 stopped (SIGTERM)");
        await cluster.StartAsync(1);
        Step("node 1 restarted and ready");
        await Produce(3);

        var expected = PartitionFiles.Reference(input);
        var view = await rig.WaitForViewAsync(expected, Settle);
        Step($"downstream view: {view.Count} profiles, reference {expected.Count}");
        Assert.True(expected.SequenceEqual(view), $"view has {view.Count} profiles, reference {expected.Count}\n{rig.Log}");
        Assert.Equal(expected, await rig.ExportAsync(persistence));

        // Every profile's changelog is complete: versions 1..latest, none skipped (duplicates are allowed: at least once).
        var events = rig.ReadAll(Kafka.Topics.ProfileEvents).Select(r => ProfileEvent.Parser.ParseFrom(r.Message.Value)).ToList();
        var incomplete = events.GroupBy(e => e.ProfileId)
            .Where(g => g.Select(e => e.Version).Distinct().Count() != g.Max(e => e.Version) || g.Min(e => e.Version) != 1)
            .Select(g => g.Key)
            .ToList();
        Assert.True(incomplete.Count == 0, $"{incomplete.Count} profiles with gaps in their versions, e.g. {string.Join(", ", incomplete.Take(5))}");

        // The dead-letter topic holds every malformed record and nothing else (a record may be there twice: at least once).
        var refused = PartitionFiles.Refused(input);
        var deadLetters = rig.ReadAll(Kafka.Topics.DeadLetters).Select(r => Encoding.UTF8.GetString(r.Message.Value!)).ToList();
        Assert.NotEmpty(refused);
        Assert.Equal(refused.Order(StringComparer.Ordinal), deadLetters.Distinct().Order(StringComparer.Ordinal));
        Step($"{events.Count} profile events ({events.Select(e => (e.ProfileId, e.Version)).Distinct().Count()} distinct), " +
             $"{deadLetters.Count} dead letters for {refused.Count} malformed records");
    }

    private static async Task<int> WaitForPublishedAsync(KafkaRig rig, int atLeast)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        int published;
        do
        {
            await Task.Delay(300);
            published = rig.ReadAll(Kafka.Topics.ProfileEvents).Count;
        }
        while (published < atLeast && DateTime.UtcNow < deadline);
        return published;
    }
}
