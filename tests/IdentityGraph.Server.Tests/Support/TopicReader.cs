using System.Diagnostics;
using Confluent.Kafka;

namespace IdentityGraph.Server.Tests.Support;

/// <summary>
/// Reads a whole topic as it is now, without joining a group: every record up to each partition's high watermark.
/// Shared with the benchmark tool (benchmarks/), which links this file.
/// </summary>
public static class TopicReader
{
    /// <summary>
    /// The records of <paramref name="topic"/> up to the high watermarks read at the start; <c>Truncated</c> when a
    /// partition no longer starts at offset 0 (the broker dropped old records, as the dev broker does past 5 MiB).
    /// </summary>
    public static (List<ConsumeResult<TKey, byte[]?>> Records, bool Truncated) ReadAll<TKey>(string bootstrap, string topic, TimeSpan limit)
    {
        using var consumer = new ConsumerBuilder<TKey, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "topic-reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            FetchWaitMaxMs = 50,
        }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var watermarks = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions
            .Select(p => new TopicPartition(topic, p.PartitionId))
            .ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)));
        var remaining = watermarks.Where(w => w.Value.High.Value > w.Value.Low.Value).ToDictionary(w => w.Key, w => w.Value.High.Value);
        consumer.Assign(remaining.Keys.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var records = new List<ConsumeResult<TKey, byte[]?>>();
        var clock = Stopwatch.StartNew();
        while (remaining.Count > 0)
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"reading {topic} did not reach the high watermarks within {limit.TotalSeconds} s");
            }

            // Records past the watermark (written since it was read) belong to the next read.
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } record &&
                remaining.TryGetValue(record.TopicPartition, out var high) && record.Offset.Value < high)
            {
                records.Add(record);
                if (record.Offset.Value + 1 >= high)
                {
                    remaining.Remove(record.TopicPartition);
                    consumer.IncrementalUnassign([record.TopicPartition]);
                }
            }
        }

        return (records, watermarks.Values.Any(w => w.Low.Value > 0));
    }
}
