using System.Diagnostics;
using Confluent.Kafka;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Kafka.Hosting;
using IdentityGraph.Kafka.Ingestion;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace IdentityGraph.Kafka.Tests;

/// <summary>
/// When every observation in flight is stuck (here: the journal refuses writes; in a cluster: they ask shards of a node
/// that died and has not been downed yet), the consume loop must not block waiting for a free slot: it pauses and keeps
/// polling, so a rebalance is served at once. Otherwise a dead member's partitions reach this node only when its stuck
/// work gives up (the 30 s ask time-out after the dead node is downed, about 50 s in all), and a stall longer than
/// max.poll.interval.ms would throw the node out of its group. Real parts: the dev broker, a SQLite journal held by an
/// outside writer, the actor system, a second Confluent.Kafka group member.
/// </summary>
public sealed class StuckIngestionTests(ITestOutputHelper output) : DevBrokerTestBase("identitygraph-stuck-", partitions: 2)
{
    [Fact]
    public async Task A_node_whose_every_slot_is_stuck_still_takes_the_partitions_of_a_member_that_leaves()
    {
        var options = new KafkaOptions
        {
            BootstrapServers = Broker.BootstrapServers,
            Ingestion = { MaxInFlight = 2, Consumer = new() { ["heartbeat.interval.ms"] = "500" } },
        };
        using var node = await TestNode.StartAsync(options, WorkDirectory);
        var statistics = node.Services.GetRequiredService<IngestionStatistics>();
        int Assigned() => statistics.AssignedPartitions.Values.Sum();
        await TestNode.WaitUntilAsync(() => Assigned() == 2, TimeSpan.FromSeconds(60), "the node never got both partitions");

        // A second member takes one partition (cooperative-sticky: the node gives it up; nothing is in flight yet).
        using var other = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            GroupId = options.Ingestion.GroupId,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            EnableAutoCommit = false,
            SessionTimeoutMs = (int)options.Ingestion.SessionTimeout.TotalMilliseconds,
            HeartbeatIntervalMs = 500,
        }).Build();
        other.Subscribe(Topics.Observations);
        await TestNode.WaitUntilAsync(
            () =>
            {
                other.Consume(TimeSpan.FromMilliseconds(100));
                return other.Assignment.Count == 1 && Assigned() == 1;
            },
            TimeSpan.FromSeconds(60),
            "the second member never got a partition");

        // An outside writer holds the journal's write lock: every resolve waits (the busy time-out, then retries), while
        // the database still answers reads, so the journal gate stays open. Both slots fill and stay full.
        await using var writer = new SqliteConnection($"Data Source={Path.Combine(WorkDirectory, "graph.db")}");
        await writer.OpenAsync();
        await using (var begin = writer.CreateCommand())
        {
            begin.CommandText = "BEGIN EXCLUSIVE";
            await begin.ExecuteNonQueryAsync();
        }

        var observations = Enumerable.Range(0, 40).Select(Observation).ToList();
        await TestNode.ProduceAsync(Broker.BootstrapServers, observations);
        await TestNode.WaitUntilAsync(() => statistics.Received >= 2, TimeSpan.FromSeconds(30), "the node read nothing");
        await Task.Delay(ObservationIngestion.StarvedAfter * 2);
        Assert.Equal(0, statistics.ResolvedTotal);

        // The second member leaves: its partition must reach the node while the node's work is still stuck.
        other.Close();
        var left = Stopwatch.StartNew();
        await TestNode.WaitUntilAsync(() => Assigned() == 2, TimeSpan.FromSeconds(30), "the node did not take the partition while its work was stuck");
        output.WriteLine($"partition taken over {left.Elapsed.TotalSeconds:F1} s after the other member left, with {statistics.ResolvedTotal} observations resolved");
        Assert.Equal(0, statistics.ResolvedTotal);

        // The journal is free again: everything resolves, nothing is lost.
        await using (var rollback = writer.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync();
        }

        await TestNode.WaitUntilAsync(() => statistics.ResolvedTotal == observations.Count, TimeSpan.FromMinutes(2), $"resolved {statistics.ResolvedTotal} of {observations.Count}");
        await node.StopAsync();
    }

    private static Observation Observation(int i)
    {
        var observation = new Observation
        {
            ObservationId = $"stuck-{i}",
            Source = "test",
            Channel = Channel.Web,
            ObservedAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(i)),
        };
        observation.Identifiers.Add(new Identifier { Type = IdentifierType.Email, Value = $"stuck.{i}@shop.example" });
        return observation;
    }

}
