using System.Diagnostics.Metrics;
using IdentityGraph.Kafka.Ingestion;

namespace IdentityGraph.Kafka.Outbox;

/// <summary>
/// What the outbox projection has delivered, read by the demo summary, the logs and the metrics. The lag series are
/// reported only by the node that runs the projection (a cluster singleton); other nodes report none.
/// </summary>
public sealed class OutboxStatistics
{
    private readonly Histogram<long> profileSize;
    private long published;
    private long tombstones;
    private long checkpoint;
    private long lastEventTimestampMs;
    private long lagEvents = -1;
    private long oldestUnpublishedTicks;

    public OutboxStatistics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(IngestionStatistics.MeterName);
        meter.CreateObservableCounter("identitygraph.outbox.published", () => Published, "{event}",
            "Profile events delivered to the changelog topic (a restart may deliver the last batch again).");
        meter.CreateObservableCounter("identitygraph.outbox.tombstones", () => Tombstones, "{record}",
            "Tombstones delivered to the compacted profiles topic (profiles merged away or erased).");
        profileSize = meter.CreateHistogram(
            "identitygraph.profile.identifiers", "{identifier}", "Identifiers held by a profile, each time a change to it is published.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 3, 5, 10, 20, 50, 100, 500, 1000] });
        meter.CreateObservableGauge("identitygraph.outbox.lag.events", ObserveLagEvents, "{event}",
            "Profile events durable in the journal but not yet delivered to Kafka.");
        meter.CreateObservableGauge("identitygraph.outbox.lag", ObserveLagSeconds, "s",
            "Age of the oldest profile event durable in the journal but not yet delivered to Kafka (0 when caught up).");
    }

    /// <summary>Profile events delivered to the changelog topic (re-deliveries after a restart count again).</summary>
    public long Published => Interlocked.Read(ref published);

    /// <summary>Tombstones delivered to the snapshot topic.</summary>
    public long Tombstones => Interlocked.Read(ref tombstones);

    /// <summary>The journal offset delivered and checkpointed up to.</summary>
    public long Checkpoint => Interlocked.Read(ref checkpoint);

    /// <summary>When the last delivered event was written to the journal.</summary>
    public DateTimeOffset? LastEventWrittenAt
    {
        get
        {
            var ms = Interlocked.Read(ref lastEventTimestampMs);
            return ms == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }
    }

    internal void RecordDelivered(int events, int endedProfiles, long offset, long lastTimestampMs)
    {
        Interlocked.Add(ref published, events);
        Interlocked.Add(ref tombstones, endedProfiles);
        Interlocked.Exchange(ref checkpoint, offset);
        Interlocked.Exchange(ref lastEventTimestampMs, lastTimestampMs);
    }

    internal void RecordCheckpoint(long offset) => Interlocked.Exchange(ref checkpoint, offset);

    internal void RecordProfileSize(int identifiers) => profileSize.Record(identifiers);

    /// <summary>The outcome of a lag probe; null count when this node no longer runs the projection.</summary>
    internal void RecordLag(long? events, DateTimeOffset? oldestUnpublished)
    {
        Interlocked.Exchange(ref oldestUnpublishedTicks, oldestUnpublished?.UtcTicks ?? 0);
        Interlocked.Exchange(ref lagEvents, events ?? -1);
    }

    private IEnumerable<Measurement<long>> ObserveLagEvents()
    {
        if (Interlocked.Read(ref lagEvents) is var events and >= 0)
        {
            yield return new Measurement<long>(events);
        }
    }

    private IEnumerable<Measurement<double>> ObserveLagSeconds()
    {
        if (Interlocked.Read(ref lagEvents) < 0)
        {
            yield break;
        }

        var oldest = Interlocked.Read(ref oldestUnpublishedTicks);
        yield return new Measurement<double>(oldest == 0 ? 0 : Math.Max(0, (DateTime.UtcNow.Ticks - oldest) / (double)TimeSpan.TicksPerSecond));
    }
}
