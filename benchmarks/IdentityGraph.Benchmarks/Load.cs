using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using IdentityGraph.Contracts.V1;

namespace IdentityGraph.Benchmarks;

/// <summary>What one <c>load</c> phase measured; written as one JSON file per phase for <c>report</c>.</summary>
public sealed record PhaseResult
{
    public required string Name { get; init; }

    public long From { get; init; }

    public long Count { get; init; }

    /// <summary>Target rate; 0 = as fast as the system takes it (bounded lag).</summary>
    public double TargetRate { get; init; }

    public double ProduceSeconds { get; init; }

    /// <summary>First record produced → last output record (timestamps of the records).</summary>
    public double SpanSeconds { get; init; }

    public double ObservationsPerSecond { get; init; }

    public long OutputRecords { get; init; }

    public long ObservationsWithOutput { get; init; }

    public long DeadLetters { get; init; }

    public long LatencyP50Ms { get; init; }

    public long LatencyP90Ms { get; init; }

    public long LatencyP99Ms { get; init; }

    public long LatencyP999Ms { get; init; }

    public long LatencyMaxMs { get; init; }

    /// <summary>
    /// Latency per second of the phase, by when each observation was produced: shows whether a tail is spread evenly or
    /// comes from a few stalls (a collection, a snapshot, a slow read).
    /// </summary>
    public List<LatencySecond> LatencyBySecond { get; init; } = [];

    /// <summary>CPU seconds used during the phase, per watched process (serve, broker, postgres, load).</summary>
    public Dictionary<string, double> CpuSeconds { get; init; } = [];

    /// <summary>CPU seconds the whole machine was busy during the phase, and the part no watched process accounts for (other work: how quiet the machine was).</summary>
    public double MachineBusySeconds { get; init; }

    public double OtherBusySeconds { get; init; }

    public double WallSeconds { get; init; }

    public string Workload { get; init; } = "";

    public string Statistics { get; init; } = "";

    public bool Completed { get; init; }
}

/// <summary>Latencies of the observations produced in one second of a phase.</summary>
public sealed record LatencySecond(int Second, int Count, long P50Ms, long P99Ms, long MaxMs);

/// <summary>
/// One phase of the end-to-end load benchmark: streams records [from, from + count) of the workload to the input
/// topic (at a fixed rate or as fast as the consumer group keeps up, with a bounded lag so the dev broker's 5 MiB per
/// partition never drops unread records), reads the output topic, waits until the consumer group has committed every
/// record (the system's own "durable" signal), and reports throughput and the latency from each observation's record
/// timestamp to the record timestamp of the first output record it caused.
/// </summary>
public static class Load
{
    private const string InputTopic = "identity.observations";
    private const string DeadLetterTopic = "identity.observations.dlq";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public sealed record Settings(
        string Bootstrap,
        string Name,
        WorkloadOptions Workload,
        long From,
        long Count,
        double Rate,
        string OutputTopic,
        bool OutputIsObservation,
        string Group,
        long MaxLag,
        TimeSpan Timeout,
        IReadOnlyDictionary<string, int> WatchPids,
        string? SummaryFile,
        bool IndexHeader = false);

    public static int Run(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var produced = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var latencies = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        using var output = new OutputReader(settings.Bootstrap, settings.OutputTopic, settings.OutputIsObservation, produced, latencies);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = settings.Bootstrap }).Build();
        var inputPartitions = Partitions(admin, InputTopic);
        using var progress = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = settings.Bootstrap, GroupId = settings.Group, EnableAutoCommit = false }).Build();
        var startOffsets = inputPartitions.ToDictionary(p => p, p => progress.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High.Value);
        var deadLettersBefore = HighWatermarks(progress, admin, DeadLetterTopic);
        output.Start();

        var statistics = new WorkloadStatistics();
        var endOffsets = new ConcurrentDictionary<TopicPartition, long>();
        long deliveryErrors = 0;
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = settings.Bootstrap,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            QueueBufferingMaxMessages = 200_000,
        }).Build();
        var json = new Headers { { "content-type", "application/json"u8.ToArray() } };
        void Delivered(DeliveryReport<Null, byte[]> report)
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref deliveryErrors);
                return;
            }

            endOffsets.AddOrUpdate(report.TopicPartition, report.Offset.Value + 1, (_, old) => Math.Max(old, report.Offset.Value + 1));
        }

        // Generated before the clock starts: the producing loop only produces (one thread generating as it goes caps
        // the rate near 30,000/s on this machine, below what the pass-through baseline takes).
        var records = WorkloadGenerator.Range(settings.Workload, settings.From, settings.Count).ToList();
        var cpu = new CpuSampler(settings.WatchPids);
        var committed = Committed(progress, inputPartitions, startOffsets);
        var clock = Stopwatch.StartNew();
        var firstProduceMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var lastProgressCheck = TimeSpan.Zero;
        var sent = 0L;
        foreach (var record in records)
        {
            if (settings.Rate > 0)
            {
                var due = TimeSpan.FromSeconds(sent / settings.Rate);
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    Thread.Sleep(wait);
                }
            }
            else if (sent - committed >= settings.MaxLag || clock.Elapsed - lastProgressCheck > TimeSpan.FromSeconds(1))
            {
                // As fast as the consumer takes it, but never more than MaxLag records ahead of what it committed.
                lastProgressCheck = clock.Elapsed;
                committed = Committed(progress, inputPartitions, startOffsets);
                while (sent - committed >= settings.MaxLag && clock.Elapsed < settings.Timeout)
                {
                    Thread.Sleep(100);
                    committed = Committed(progress, inputPartitions, startOffsets);
                }
            }

            statistics.Add(record);
            var now = DateTimeOffset.UtcNow;
            if (record.ObservationId.Length > 0)
            {
                produced[record.ObservationId] = now.ToUnixTimeMilliseconds();
            }

            var headers = record.Json ? json : null;
            if (settings.IndexHeader)
            {
                // The record's index, so that a check can find each record again on the dead-letter topic, which keeps headers.
                headers = record.Json ? new Headers { { json[0].Key, json[0].GetValueBytes() } } : [];
                headers.Add(StreamVerification.IndexHeader, Encoding.ASCII.GetBytes(record.Index.ToString(CultureInfo.InvariantCulture)));
            }

            var message = new Message<Null, byte[]> { Value = record.Value, Timestamp = new Timestamp(now), Headers = headers };
            while (true)
            {
                try
                {
                    producer.Produce(InputTopic, message, Delivered);
                    break;
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(10));
                }
            }

            sent++;
        }

        producer.Flush(TimeSpan.FromSeconds(60));
        var produceSeconds = clock.Elapsed.TotalSeconds;

        // Done when the group has committed every record we produced (the system stores offsets only once durable),
        // and the output has been quiet for a moment (the outbox publishes what is durable).
        var completed = false;
        while (clock.Elapsed < settings.Timeout)
        {
            var positions = inputPartitions.ToDictionary(p => p, p => CommittedOffset(progress, p));
            if (endOffsets.All(e => positions.TryGetValue(e.Key, out var at) && at >= e.Value))
            {
                completed = true;
                break;
            }

            Thread.Sleep(200);
        }

        output.WaitQuiet(TimeSpan.FromSeconds(2), settings.Timeout - clock.Elapsed);
        var cpuSeconds = cpu.Elapsed();
        output.Stop();

        var sorted = latencies.Values.Order().ToArray();
        long P(double q) => Percentile(sorted, q);
        // No output seen (a warm-up whose records were all committed before the outbox first published): no span, no rate.
        var span = output.Records > 0 ? (output.LastRecordMs - firstProduceMs) / 1000.0 : 0;
        // A latency is recorded only for an observation in `produced`, which keeps every one sent.
        var bySecond = latencies
            .GroupBy(l => (int)((produced[l.Key] - firstProduceMs) / 1000), l => l.Value)
            .OrderBy(g => g.Key)
            .Select(g =>
            {
                var second = g.Order().ToArray();
                return new LatencySecond(g.Key, second.Length, Percentile(second, 0.50), Percentile(second, 0.99), second[^1]);
            })
            .ToList();
        var result = new PhaseResult
        {
            Name = settings.Name,
            From = settings.From,
            Count = settings.Count,
            TargetRate = settings.Rate,
            ProduceSeconds = Math.Round(produceSeconds, 3),
            SpanSeconds = Math.Round(span, 3),
            ObservationsPerSecond = output.Records > 0 ? Math.Round(settings.Count / Math.Max(span, 0.001), 1) : 0,
            OutputRecords = output.Records,
            ObservationsWithOutput = sorted.Length,
            DeadLetters = Sum(HighWatermarks(progress, admin, DeadLetterTopic)) - Sum(deadLettersBefore),
            LatencyP50Ms = P(0.50),
            LatencyP90Ms = P(0.90),
            LatencyP99Ms = P(0.99),
            LatencyP999Ms = P(0.999),
            LatencyMaxMs = sorted.Length > 0 ? sorted[^1] : 0,
            LatencyBySecond = bySecond,
            CpuSeconds = cpuSeconds,
            MachineBusySeconds = cpu.MachineBusySeconds,
            OtherBusySeconds = Math.Round(Math.Max(0, cpu.MachineBusySeconds - cpuSeconds.Values.Sum()), 2),
            WallSeconds = Math.Round(clock.Elapsed.TotalSeconds, 2),
            Workload = settings.Workload.ToArguments(),
            Statistics = statistics.ToString(),
            Completed = completed && Interlocked.Read(ref deliveryErrors) == 0,
        };

        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"phase={result.Name} from={result.From} count={result.Count} target_rate={(result.TargetRate > 0 ? result.TargetRate.ToString("F0", c) : "max")} completed={(result.Completed ? "yes" : "NO")}"));
        Console.WriteLine(string.Create(c, $"  produced_in_s={result.ProduceSeconds:F1} span_s={result.SpanSeconds:F1} observations_per_s={result.ObservationsPerSecond:F0} output_records={result.OutputRecords} dead_letters={result.DeadLetters}"));
        Console.WriteLine(string.Create(c, $"  latency_ms p50={result.LatencyP50Ms} p90={result.LatencyP90Ms} p99={result.LatencyP99Ms} p999={result.LatencyP999Ms} max={result.LatencyMaxMs} (of {result.ObservationsWithOutput} observations with output)"));
        Console.WriteLine("  cpu_s " + string.Join(' ', result.CpuSeconds.Select(p => string.Create(c, $"{p.Key}={p.Value:F1}"))) +
            string.Create(c, $" machine_busy={result.MachineBusySeconds:F1} other={result.OtherBusySeconds:F1} wall={result.WallSeconds:F1} (cpu-seconds; 2 cores = 2 per wall second)"));
        Console.WriteLine("  workload " + result.Statistics);
        if (settings.SummaryFile is { } file)
        {
            File.WriteAllText(file, JsonSerializer.Serialize(result, Indented));
        }

        return result.Completed ? 0 : 1;
    }

    private static List<TopicPartition> Partitions(IAdminClient admin, string topic)
    {
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        var partitions = metadata.Topics.Single(t => t.Topic == topic).Partitions;
        return [.. partitions.Select(p => new TopicPartition(topic, p.PartitionId)).OrderBy(p => p.Partition.Value)];
    }

    private static Dictionary<TopicPartition, long> HighWatermarks(IConsumer<Ignore, Ignore> consumer, IAdminClient admin, string topic) =>
        Partitions(admin, topic).ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High.Value);

    private static long Sum(Dictionary<TopicPartition, long> offsets) => offsets.Values.Sum();

    /// <summary>The nearest-rank <paramref name="q"/> quantile of ascending <paramref name="sorted"/> (0 when empty).</summary>
    internal static long Percentile(long[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>Records of this phase the group has committed (offsets past our start, summed).</summary>
    private static long Committed(IConsumer<Ignore, Ignore> consumer, List<TopicPartition> partitions, Dictionary<TopicPartition, long> start) =>
        partitions.Sum(p => Math.Max(0, CommittedOffset(consumer, p) - start[p]));

    private static long CommittedOffset(IConsumer<Ignore, Ignore> consumer, TopicPartition partition)
    {
        try
        {
            var offset = consumer.Committed([partition], TimeSpan.FromSeconds(5)).Single().Offset;
            return offset.IsSpecial ? 0 : offset.Value;
        }
        catch (KafkaException)
        {
            return 0;
        }
    }

    /// <summary>Reads the output topic from its current end, records per observation id the latency of its first output record.</summary>
    private sealed class OutputReader(
        string bootstrap, string topic, bool outputIsObservation, ConcurrentDictionary<string, long> produced, ConcurrentDictionary<string, long> latencies) : IDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private Task? task;
        private long records;
        private long lastRecordMs;
        private long lastArrivalTicks = Stopwatch.GetTimestamp();

        public long Records => Interlocked.Read(ref records);

        public long LastRecordMs => Interlocked.Read(ref lastRecordMs);

        public void Start()
        {
            var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
            {
                BootstrapServers = bootstrap,
                GroupId = "load-benchmark-reader",
                EnableAutoCommit = false,
                FetchWaitMaxMs = 10,
            }).Build();
            // Explicit assignment at the current end: no group join (the dev broker delays first joins by seconds).
            using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
            {
                var partitions = Partitions(admin, topic);
                consumer.Assign(partitions.Select(p => new TopicPartitionOffset(p, consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High)));
            }

            task = Task.Factory.StartNew(() => Read(consumer), TaskCreationOptions.LongRunning);
        }

        public void WaitQuiet(TimeSpan quiet, TimeSpan limit)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(Math.Max(0, limit.TotalSeconds) * Stopwatch.Frequency);
            while (Stopwatch.GetElapsedTime(Interlocked.Read(ref lastArrivalTicks)) < quiet && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.Sleep(100);
            }
        }

        public void Stop()
        {
            stop.Cancel();
            task?.Wait();
        }

        public void Dispose() => stop.Dispose();

        private void Read(IConsumer<Ignore, byte[]> consumer)
        {
            using (consumer)
            {
                while (!stop.IsCancellationRequested)
                {
                    var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
                    if (record?.Message?.Value is not { } value)
                    {
                        continue;
                    }

                    var at = record.Message.Timestamp.UnixTimestampMs;
                    Interlocked.Increment(ref records);
                    Interlocked.Exchange(ref lastArrivalTicks, Stopwatch.GetTimestamp());
                    if (at > Interlocked.Read(ref lastRecordMs))
                    {
                        Interlocked.Exchange(ref lastRecordMs, at);
                    }

                    string id;
                    try
                    {
                        id = outputIsObservation ? Observation.Parser.ParseFrom(value).ObservationId : ProfileEvent.Parser.ParseFrom(value).ObservationId;
                    }
                    catch (Google.Protobuf.InvalidProtocolBufferException)
                    {
                        continue;
                    }

                    if (produced.TryGetValue(id, out var sent))
                    {
                        latencies.TryAdd(id, at - sent);
                    }
                }
            }
        }
    }
}

/// <summary>CPU time of watched processes from /proc (user + system, including waited-for children).</summary>
public sealed class CpuSampler
{
    private const double TicksPerSecond = 100.0; // USER_HZ on Linux
    private static readonly int[] BusyFields = [1, 2, 3, 6, 7, 8];
    private readonly IReadOnlyDictionary<string, int> pids;
    private readonly Dictionary<string, double> start;
    private readonly TimeSpan selfStart = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly double machineStart = MachineBusy();

    public CpuSampler(IReadOnlyDictionary<string, int> pids)
    {
        this.pids = pids;
        start = Sample();
    }

    /// <summary>CPU seconds all processes of the machine used since construction (set by <see cref="Elapsed"/>).</summary>
    public double MachineBusySeconds { get; private set; }

    /// <summary>CPU seconds per name since construction; "load" is this process.</summary>
    public Dictionary<string, double> Elapsed()
    {
        var now = Sample();
        MachineBusySeconds = Math.Round(MachineBusy() - machineStart, 2);
        var result = now.ToDictionary(p => p.Key, p => Math.Round(p.Value - start.GetValueOrDefault(p.Key), 2));
        result["load"] = Math.Round((Process.GetCurrentProcess().TotalProcessorTime - selfStart).TotalSeconds, 2);
        return result;
    }

    /// <summary>Busy CPU seconds of the whole machine since boot (/proc/stat: everything but idle and iowait).</summary>
    private static double MachineBusy()
    {
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // cpu user nice system idle iowait irq softirq steal ...
        var ticks = BusyFields.Sum(i => long.Parse(cpu[i], CultureInfo.InvariantCulture));
        return ticks / TicksPerSecond;
    }

    private Dictionary<string, double> Sample() => pids.ToDictionary(p => p.Key, p => TreeSeconds(p.Value));

    /// <summary>The process and all its descendants (PostgreSQL's backends are children of the postmaster).</summary>
    private static double TreeSeconds(int root)
    {
        var children = new Dictionary<int, List<int>>();
        var times = new Dictionary<int, double>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
                var ppid = int.Parse(fields[1], CultureInfo.InvariantCulture);
                times[pid] = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)
                    + long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture)) / TicksPerSecond;
                if (!children.TryGetValue(ppid, out var list))
                {
                    children[ppid] = list = [];
                }

                list.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // The process ended meanwhile.
            }
        }

        var total = 0.0;
        var stack = new Stack<int>([root]);
        while (stack.Count > 0)
        {
            var pid = stack.Pop();
            total += times.GetValueOrDefault(pid);
            foreach (var child in children.GetValueOrDefault(pid) ?? [])
            {
                stack.Push(child);
            }
        }

        return total;
    }
}
