using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IdentityGraph.Cluster.Resolution;

namespace IdentityGraph.Kafka.Ingestion;

/// <summary>
/// Running totals of the ingestion on this node, read by the demo summary, the logs and the metrics (meter
/// <see cref="MeterName"/>; every series is named <c>identitygraph_…</c> in Prometheus, and no label holds PII: outcomes,
/// error codes, topics and partitions only).
/// </summary>
public sealed class IngestionStatistics
{
    /// <summary>The meter every Kafka metric is on.</summary>
    public const string MeterName = "IdentityGraph.Kafka";

    private static readonly string[] OutcomeLabels = ["nothing_new", "created", "linked", "merged"];

    private readonly long[] outcomes = new long[Enum.GetValues<ResolveOutcome>().Length];
    private readonly ConcurrentDictionary<string, long> deadLetters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> droppedIdentifiers = new(StringComparer.Ordinal);
    private readonly Histogram<double> processing;
    private readonly Histogram<long> mergeFanIn;
    private IReadOnlyDictionary<(string Topic, int Partition), long> consumerLag = new Dictionary<(string, int), long>();
    private IReadOnlyDictionary<string, int> topicPartitions = new Dictionary<string, int>();
    private IReadOnlyDictionary<string, int> assignedPartitions = new Dictionary<string, int>();
    private long received;
    private long profilesMerged;
    private long retries;
    private long brokersUp = -1;

    public IngestionStatistics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        meter.CreateObservableCounter("identitygraph.observations", ObserveOutcomes, "{observation}",
            "Observations finished: resolved durably (created, linked, merged, nothing_new) or dead_lettered.");
        processing = meter.CreateHistogram(
            "identitygraph.observation.processing", "s", "From the Kafka record timestamp to the observation being durable in the graph.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });
        meter.CreateObservableCounter("identitygraph.merges", () => Resolved(ResolveOutcome.Merged), "{merge}",
            "Observations that merged profiles (each retires one or more profiles into the oldest).");
        mergeFanIn = meter.CreateHistogram(
            "identitygraph.merge.fan_in", "{profile}", "Profiles retired into the survivor by one merging observation.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 3, 5, 10, 25, 100] });
        meter.CreateObservableCounter("identitygraph.dead_letters", () => Labelled(deadLetters, "reason"), "{record}",
            "Records sent to the dead-letter topic, by error code.");
        meter.CreateObservableCounter("identitygraph.identifiers.dropped", () => Labelled(droppedIdentifiers, "reason"), "{identifier}",
            "Invalid identifiers dropped from otherwise valid observations, by error code.");
        meter.CreateObservableCounter("identitygraph.ingestion.retries", () => Retries, "{attempt}",
            "Resolve attempts that failed transiently and were retried.");
        meter.CreateObservableGauge("identitygraph.consumer.lag", ObserveLag, "{record}",
            "Records not yet read, per assigned input partition (high watermark minus position), from librdkafka's statistics.");
        meter.CreateObservableGauge("identitygraph.ingestion.running", () => IsRunning ? 1 : 0, "",
            "1 while this node's consumer loop runs.");
        meter.CreateObservableGauge("identitygraph.assigned_partitions", ObserveAssigned, "{partition}",
            "Input partitions assigned to this node, per topic; summed over the nodes it should equal identitygraph_topic_partitions.");
        meter.CreateObservableGauge("identitygraph.topic_partitions", ObserveTopicPartitions, "{partition}",
            "Partitions of each input topic, from the consumer's metadata.");
    }

    /// <summary>Records read from the input topics.</summary>
    public long Received => Interlocked.Read(ref received);

    /// <summary>Observations resolved durably, by outcome.</summary>
    public long Resolved(ResolveOutcome outcome) => Interlocked.Read(ref outcomes[(int)outcome]);

    /// <summary>Observations resolved durably, all outcomes.</summary>
    public long ResolvedTotal => Enum.GetValues<ResolveOutcome>().Sum(Resolved);

    /// <summary>Profiles retired into a survivor by merges.</summary>
    public long ProfilesMerged => Interlocked.Read(ref profilesMerged);

    /// <summary>Resolve attempts that failed transiently and were retried.</summary>
    public long Retries => Interlocked.Read(ref retries);

    /// <summary>Dead letters delivered, by error code.</summary>
    public IReadOnlyDictionary<string, long> DeadLetters => deadLetters;

    /// <summary>Dead letters delivered, all codes.</summary>
    public long DeadLettersTotal => deadLetters.Values.Sum();

    /// <summary>Invalid identifiers dropped from otherwise valid observations, by error code.</summary>
    public IReadOnlyDictionary<string, long> DroppedIdentifiers => droppedIdentifiers;

    /// <summary>True while the consumer loop runs and has not hit a fatal error.</summary>
    public bool IsRunning { get; internal set; }

    /// <summary>
    /// Whether the consumer is connected to at least one broker, from its latest statistics; null before the first.
    /// </summary>
    public bool? KafkaConnected => Interlocked.Read(ref brokersUp) is var up and >= 0 ? up > 0 : null;

    /// <summary>Records not yet read per assigned partition, from the latest statistics.</summary>
    public IReadOnlyDictionary<(string Topic, int Partition), long> ConsumerLag => Volatile.Read(ref consumerLag);

    /// <summary>Input partitions assigned to this node, per topic (zero for a subscribed topic with none).</summary>
    public IReadOnlyDictionary<string, int> AssignedPartitions => Volatile.Read(ref assignedPartitions);

    /// <summary>Partitions per subscribed topic, from the latest statistics.</summary>
    public IReadOnlyDictionary<string, int> TopicPartitions => Volatile.Read(ref topicPartitions);

    internal void RecordAssignment(IEnumerable<string> assignedTopics) =>
        Volatile.Write(ref assignedPartitions, assignedTopics.GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal));

    internal void RecordReceived() => Interlocked.Increment(ref received);

    internal void RecordResolved(ResolveResult result, TimeSpan? sinceRecordTimestamp)
    {
        Interlocked.Increment(ref outcomes[(int)result.Outcome]);
        Interlocked.Add(ref profilesMerged, result.ProfilesMerged);
        if (result.ProfilesMerged > 0)
        {
            mergeFanIn.Record(result.ProfilesMerged);
        }

        if (sinceRecordTimestamp is { } latency)
        {
            processing.Record(Math.Max(0, latency.TotalSeconds));
        }
    }

    internal void RecordRetry() => Interlocked.Increment(ref retries);

    internal void RecordDeadLetter(string code) => deadLetters.AddOrUpdate(code, 1, (_, n) => n + 1);

    internal void RecordDroppedIdentifier(string code) => droppedIdentifiers.AddOrUpdate(code, 1, (_, n) => n + 1);

    internal void RecordConsumerStatistics(ConsumerStatistics statistics)
    {
        Volatile.Write(ref consumerLag, statistics.Lag);
        Volatile.Write(ref topicPartitions, statistics.TopicPartitions);
        Interlocked.Exchange(ref brokersUp, statistics.BrokersUp);
    }

    private IEnumerable<Measurement<long>> ObserveOutcomes()
    {
        for (var i = 0; i < outcomes.Length; i++)
        {
            yield return new Measurement<long>(Interlocked.Read(ref outcomes[i]), new KeyValuePair<string, object?>("outcome", OutcomeLabels[i]));
        }

        yield return new Measurement<long>(DeadLettersTotal, new KeyValuePair<string, object?>("outcome", "dead_lettered"));
    }

    private IEnumerable<Measurement<long>> ObserveLag() =>
        ConsumerLag.Select(p => new Measurement<long>(
            p.Value,
            new KeyValuePair<string, object?>("topic", p.Key.Topic),
            new KeyValuePair<string, object?>("partition", p.Key.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture))));

    private IEnumerable<Measurement<int>> ObserveAssigned()
    {
        var assigned = AssignedPartitions;
        return TopicPartitions.Keys.Union(assigned.Keys, StringComparer.Ordinal).Select(topic => new Measurement<int>(
            assigned.GetValueOrDefault(topic), new KeyValuePair<string, object?>("topic", topic)));
    }

    private IEnumerable<Measurement<int>> ObserveTopicPartitions() =>
        TopicPartitions.Select(p => new Measurement<int>(p.Value, new KeyValuePair<string, object?>("topic", p.Key)));

    private static IEnumerable<Measurement<long>> Labelled(ConcurrentDictionary<string, long> counts, string label) =>
        counts.Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>(label, p.Key)));
}
