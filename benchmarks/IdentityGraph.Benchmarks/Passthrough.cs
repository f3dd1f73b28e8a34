using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Benchmarks;

/// <summary>
/// Baseline B1, the ceiling of this machine and broker: a consumer group reads <c>identity.observations</c>, parses
/// every record with <see cref="ObservationParser"/> (as ingestion does) and produces the parsed observation
/// (protobuf) to an output topic — or the raw record to the dead-letter topic when it does not parse — with an
/// idempotent producer; an input offset is stored once its output is delivered. No normalisation, no graph, no
/// database. Runs until SIGTERM/SIGINT; prints <c>assigned N</c> when it owns partitions.
/// </summary>
public static class Passthrough
{
    public static int Run(string bootstrap, string inputTopic, string outputTopic, string group)
    {
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });

        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
        }).SetLogHandler((_, _) => { }).Build();
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            EnableAutoCommit = true,
            AutoCommitIntervalMs = 1000,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = 100,
        })
            .SetLogHandler((_, _) => { })
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                Console.WriteLine($"assigned {partitions.Count}");
                Console.Out.Flush();
            })
            .Build();
        consumer.Subscribe(inputTopic);
        // Deliveries to different output partitions complete out of order: store only the highest offset delivered per
        // input partition, so the committed position never moves back.
        var stored = new System.Collections.Concurrent.ConcurrentDictionary<TopicPartition, long>();
        long passed = 0;
        long refused = 0;
        while (!stop.IsCancellationRequested)
        {
            ConsumeResult<Ignore, byte[]> record;
            try
            {
                record = consumer.Consume(TimeSpan.FromMilliseconds(100));
            }
            catch (ConsumeException)
            {
                continue;
            }

            if (record?.Message is null)
            {
                continue;
            }

            var value = record.Message.Value ?? [];
            var contentType = record.Message.Headers is { } headers && headers.TryGetLastBytes("content-type", out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
            var parsed = ObservationParser.Parse(value, contentType);
            var offset = new TopicPartitionOffset(record.TopicPartition, record.Offset + 1);
            var (topic, output) = parsed.IsValid ? (outputTopic, parsed.Observation!.ToByteArray()) : ("identity.observations.dlq", value);
            _ = parsed.IsValid ? passed++ : refused++;
            while (true)
            {
                try
                {
                    producer.Produce(topic, new Message<Null, byte[]> { Value = output }, report =>
                    {
                        if (!report.Error.IsError && stored.AddOrUpdate(offset.TopicPartition, offset.Offset.Value, (_, old) => Math.Max(old, offset.Offset.Value)) == offset.Offset.Value)
                        {
                            try
                            {
                                consumer.StoreOffset(offset);
                            }
                            catch (KafkaException)
                            {
                                // Revoked meanwhile.
                            }
                        }
                    });
                    break;
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
        }

        producer.Flush(TimeSpan.FromSeconds(10));
        Console.Error.WriteLine($"passthrough: {passed} passed, {refused} refused");
        // Leaving the group can hang when the broker is already gone: bounded.
        Task.Run(consumer.Close).Wait(TimeSpan.FromSeconds(5));
        return 0;
    }
}
