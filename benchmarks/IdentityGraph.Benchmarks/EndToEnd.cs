using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Benchmarks;

/// <summary>
/// End-to-end throughput and latency through a running <c>identitygraph serve</c>: produces the observations of a
/// JSON lines file to <c>identity.observations</c> (at a fixed rate, or as fast as possible), reads
/// <c>identity.profile-events</c>, and measures, per observation that changed a profile, the time from its Kafka
/// record timestamp to the timestamp of the first profile event it caused.
/// </summary>
public static class EndToEnd
{
    public static int Run(string bootstrap, string inputFile, double rate, TimeSpan quiet)
    {
        var lines = File.ReadAllLines(inputFile).Where(l => !string.IsNullOrWhiteSpace(l)).ToList();
        var produced = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var latencies = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        long lastEventMs = 0;
        long events = 0;

        using var stop = new CancellationTokenSource();
        var reader = Task.Factory.StartNew(
            () => ReadEvents(bootstrap, produced, latencies, ref lastEventMs, ref events, stop.Token),
            TaskCreationOptions.LongRunning);
        Thread.Sleep(3000); // let the reader get its assignment at the end of the topic

        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 5, EnableIdempotence = true }).Build();
        var json = new Headers { { "content-type", Encoding.UTF8.GetBytes("application/json") } };
        var clock = Stopwatch.StartNew();
        var firstMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 0; i < lines.Count; i++)
        {
            if (rate > 0)
            {
                var due = TimeSpan.FromSeconds(i / rate);
                if (due > clock.Elapsed)
                {
                    Thread.Sleep(due - clock.Elapsed);
                }
            }

            var id = ObservationParser.ParseJson(lines[i]).Observation?.ObservationId ?? "";
            var now = DateTimeOffset.UtcNow;
            produced.TryAdd(id, now.ToUnixTimeMilliseconds());
            producer.Produce(Topics.Observations, new Message<Null, string> { Value = lines[i], Headers = json, Timestamp = new Timestamp(now) });
        }

        producer.Flush(TimeSpan.FromSeconds(60));
        var producedIn = clock.Elapsed;

        // Done when no new profile event arrived for `quiet`.
        var seen = -1L;
        while (Interlocked.Read(ref events) != seen)
        {
            seen = Interlocked.Read(ref events);
            Thread.Sleep(quiet);
        }

        stop.Cancel();
        reader.Wait();
        var span = TimeSpan.FromMilliseconds(Interlocked.Read(ref lastEventMs) - firstMs);
        var sorted = latencies.Values.Order().ToArray();
        long P(double q) => Load.Percentile(sorted, q);
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"observations={lines.Count} produced_in_s={producedIn.TotalSeconds:F1} target_rate={(rate > 0 ? rate.ToString(c) : "max")}"));
        Console.WriteLine(string.Create(c, $"profile_events={events} observations_with_events={sorted.Length} first_produce_to_last_event_s={span.TotalSeconds:F1}"));
        Console.WriteLine(string.Create(c, $"observations_per_s={lines.Count / Math.Max(span.TotalSeconds, 0.001):F0}"));
        Console.WriteLine(string.Create(c, $"latency_ms p50={P(0.50)} p90={P(0.90)} p99={P(0.99)} max={(sorted.Length > 0 ? sorted[^1] : 0)}"));
        return 0;
    }

    private static void ReadEvents(
        string bootstrap, ConcurrentDictionary<string, long> produced, ConcurrentDictionary<string, long> latencies,
        ref long lastEventMs, ref long events, CancellationToken stop)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "e2e-benchmark-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Latest,
            EnableAutoCommit = false,
            FetchWaitMaxMs = 20,
        }).Build();
        consumer.Subscribe(Topics.ProfileEvents);
        while (!stop.IsCancellationRequested)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (record?.Message is null)
            {
                continue;
            }

            var change = ProfileEvent.Parser.ParseFrom(record.Message.Value);
            var at = record.Message.Timestamp.UnixTimestampMs;
            Interlocked.Increment(ref events);
            Interlocked.Exchange(ref lastEventMs, Math.Max(Interlocked.Read(ref lastEventMs), at));
            if (produced.TryGetValue(change.ObservationId, out var sent))
            {
                latencies.TryAdd(change.ObservationId, at - sent);
            }
        }
    }

    private static class Topics
    {
        public const string Observations = "identity.observations";
        public const string ProfileEvents = "identity.profile-events";
    }
}
