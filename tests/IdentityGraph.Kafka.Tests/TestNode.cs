using Confluent.Kafka;
using Google.Protobuf;
using IdentityGraph.Cluster.Hosting;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Observations;
using IdentityGraph.Kafka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Kafka.Tests;

/// <summary>An in-process node (graph on a SQLite file, ingestion, outbox) and plain clients to feed and read the dev broker.</summary>
internal static class TestNode
{
    public static async Task<IHost> StartAsync(KafkaOptions options, ObservationNormalizer normalizer, string directory)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(normalizer);
        builder.Services.AddIdentityGraph(
            new IdentityGraphOptions { Storage = StorageSettings.Parse("sqlite:" + Path.Combine(directory, "graph.db")), ShardCount = 10 },
            (akka, provider) => akka.LogThroughLoggerFactory(Akka.Event.LogLevel.WarningLevel).AddOutbox(options, provider));
        builder.Services.AddKafka(options);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public static async Task ProduceAsync(string bootstrapServers, IEnumerable<Observation> observations)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = bootstrapServers, LingerMs = 5 }).Build();
        foreach (var observation in observations)
        {
            producer.Produce(Topics.Observations, new Message<string, byte[]> { Key = observation.ObservationId, Value = observation.ToByteArray() });
        }

        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        await Task.CompletedTask;
    }

    /// <summary>Every record of <paramref name="topic"/> so far (until a second passes without one).</summary>
    public static List<ConsumeResult<string, byte[]>> ReadAll(string bootstrapServers, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            FetchWaitMaxMs = 50,
        }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var records = new List<ConsumeResult<string, byte[]>>();
        var last = DateTime.UtcNow;
        while (DateTime.UtcNow - last < TimeSpan.FromSeconds(1))
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(50)) is { Message: not null } record)
            {
                records.Add(record);
                last = DateTime.UtcNow;
            }
        }

        return records;
    }
}
