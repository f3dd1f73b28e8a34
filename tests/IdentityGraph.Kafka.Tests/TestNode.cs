using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using IdentityGraph.Cluster.Hosting;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Kafka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace IdentityGraph.Kafka.Tests;

/// <summary>An in-process node (graph on a SQLite file, ingestion, outbox) and plain clients to feed and read the dev broker.</summary>
internal static class TestNode
{
    /// <summary>The normaliser every test node uses (default options, the development secret).</summary>
    public static readonly ObservationNormalizer Normalizer = new(
        new IdentifierNormalizer(NormalizationOptions.Default), new IdentifierKeyer(IdentifierKeyer.DevelopmentSecret));

    public static async Task<IHost> StartAsync(KafkaOptions options, string directory)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(Normalizer);
        builder.Services.AddIdentityGraph(
            new IdentityGraphOptions { Storage = Storage(directory), ShardCount = 10 },
            (akka, provider) => akka.LogThroughLoggerFactory(Akka.Event.LogLevel.WarningLevel).AddOutbox(options, provider));
        builder.Services.AddKafka(options);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>The graph alone (no Kafka, no outbox) on the same SQLite file as <see cref="StartAsync"/>.</summary>
    public static async Task<IHost> StartGraphAsync(string directory)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton(Normalizer);
        builder.Services.AddIdentityGraph(
            new IdentityGraphOptions { Storage = Storage(directory), ShardCount = 10 }, (akka, _) => akka.LogThroughLoggerFactory(Akka.Event.LogLevel.WarningLevel));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>The journal a test node in <paramref name="directory"/> uses.</summary>
    public static StorageSettings Storage(string directory) => StorageSettings.Parse("sqlite:" + Path.Combine(directory, "graph.db"));

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

    /// <summary>
    /// Every record of <paramref name="topic"/> so far: up to each partition's high watermark, read first. (Reading
    /// "until a second passes without a record" came back short on a loaded machine.)
    /// </summary>
    public static List<ConsumeResult<string, byte[]>> ReadAll(string bootstrapServers, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            FetchWaitMaxMs = 50,
        }).Build();
        var remaining = new Dictionary<TopicPartition, long>();
        foreach (var partition in Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)))
        {
            var watermarks = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(30));
            if (watermarks.High.Value > watermarks.Low.Value)
            {
                remaining[partition] = watermarks.High.Value;
            }
        }

        consumer.Assign(remaining.Keys.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var records = new List<ConsumeResult<string, byte[]>>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (remaining.Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"reading {topic} did not reach the high watermarks within 60 s");
            // Records past the watermark (written since it was read) belong to the next read.
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } record &&
                remaining.TryGetValue(record.TopicPartition, out var high) && record.Offset.Value < high)
            {
                records.Add(record);
                if (record.Offset.Value + 1 >= high)
                {
                    remaining.Remove(record.TopicPartition);
                }
            }
        }

        return records;
    }

    /// <summary>A web observation of one e-mail address, seen a minute ago.</summary>
    public static Observation Observation(string id, string email) => new()
    {
        ObservationId = id,
        Source = "test",
        Channel = Channel.Web,
        ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)),
        Identifiers = { new Identifier { Type = IdentifierType.Email, Value = email } },
    };

    /// <summary>A record's headers as text, the last value of each key.</summary>
    public static Dictionary<string, string> Headers(ConsumeResult<string, byte[]> record) =>
        record.Message.Headers.GroupBy(h => h.Key).ToDictionary(g => g.Key, g => Encoding.UTF8.GetString(g.Last().GetValueBytes()));

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test after <paramref name="limit"/> (2 minutes).</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan? limit = null, string? failure = null)
    {
        var within = limit ?? TimeSpan.FromMinutes(2);
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure ?? $"condition not reached within {within.TotalSeconds:0} s");
            await Task.Delay(100);
        }
    }
}
