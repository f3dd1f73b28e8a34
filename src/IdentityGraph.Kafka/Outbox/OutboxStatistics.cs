using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IdentityGraph.Kafka.Ingestion;

namespace IdentityGraph.Kafka.Outbox;

/// <summary>
/// What the outbox projection has delivered, read by the demo summary, readiness, the logs and the metrics. The lag
/// and failing series are reported only by the node that runs the projection (a cluster singleton); other nodes report
/// none. They keep reporting while the projection fails and restarts, so the lag alert can fire.
/// </summary>
public sealed class OutboxStatistics
{
    private readonly Histogram<long> profileSize;
    // Observable, and every reason present from the start at 0: an alert's rate() needs the series before the first failure.
    private readonly ConcurrentDictionary<string, long> deadLetters = new(StringComparer.Ordinal)
    {
        [OutboxErrorCodes.TooLarge] = 0,
        [OutboxErrorCodes.Refused] = 0,
    };

    private long failures;
    private readonly TimeProvider clock;
    private int running;
    private int streamFailing;
    private int fatal;
    private long pendingSinceTicks;
    private long pendingAtCheckpoint = -1;
    private long published;
    private long deliveredBatches;
    private long tombstones;
    private long checkpoint;
    private long lastEventTimestampMs;
    private long lagEvents = -1;
    private long oldestUnpublishedTicks;

    public OutboxStatistics(IMeterFactory meters, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(meters);
        this.clock = clock ?? TimeProvider.System;
        var meter = meters.Create(IngestionStatistics.MeterName);
        meter.CreateObservableCounter("identitygraph.outbox.published", () => Published, "{event}",
            "Profile events delivered to the changelog topic (a restart may deliver the events since the last saved checkpoint again).");
        meter.CreateObservableCounter("identitygraph.outbox.tombstones", () => Tombstones, "{record}",
            "Tombstones delivered to the compacted profiles topic (profiles merged away or erased).");
        profileSize = meter.CreateHistogram(
            "identitygraph.profile.identifiers", "{identifier}", "Identifiers held by a profile, each time a change to it is published.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 3, 5, 10, 20, 50, 100, 500, 1000] });
        meter.CreateObservableGauge("identitygraph.outbox.lag.events", ObserveLagEvents, "{event}",
            "Profile events durable in the journal but not yet delivered to Kafka.");
        meter.CreateObservableGauge("identitygraph.outbox.lag", ObserveLagSeconds, "s",
            "Age of the oldest profile event durable in the journal but not yet delivered to Kafka (0 when caught up).");
        meter.CreateObservableCounter("identitygraph.outbox.dead_letters", ObserveDeadLetters, "{record}",
            "Profile events and snapshots sent to the outputs' dead-letter topic instead of their own, by reason (error code).");
        meter.CreateObservableCounter("identitygraph.outbox.failures", () => Interlocked.Read(ref failures), "{failure}",
            "Times the outbox projection failed and restarted from its checkpoint.");
        meter.CreateObservableGauge("identitygraph.outbox.failing", ObserveFailing, "{state}",
            "1 while the outbox cannot publish (failing, restarting, fatal producer error, or stalled with events pending), else 0.");
    }

    /// <summary>How long events may be pending without the checkpoint moving before the outbox counts as stalled.</summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>True while this node runs the outbox projection.</summary>
    public bool IsRunningHere => Volatile.Read(ref running) == 1;

    /// <summary>
    /// Why the outbox on this node cannot publish, or null when it can (or does not run here): its run failed and
    /// nothing was delivered since, its producer had a fatal error, or events have been pending without the checkpoint
    /// moving for longer than <see cref="StallTimeout"/>.
    /// </summary>
    public string? FailingReason
    {
        get
        {
            if (!IsRunningHere)
            {
                return null;
            }

            if (Volatile.Read(ref fatal) == 1)
            {
                return "fatal producer error";
            }

            if (Volatile.Read(ref streamFailing) == 1)
            {
                return "publishing failed; restarting from the checkpoint";
            }

            var since = Interlocked.Read(ref pendingSinceTicks);
            return since != 0 && clock.GetUtcNow().UtcTicks - since > StallTimeout.Ticks ? "stalled: events pending, checkpoint not moving" : null;
        }
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

    /// <summary>Batches delivered and checkpointed since the start (dead-lettered records included).</summary>
    internal long DeliveredBatches => Interlocked.Read(ref deliveredBatches);

    internal void RecordDelivered(int events, int endedProfiles, long offset, long lastTimestampMs)
    {
        Interlocked.Increment(ref deliveredBatches);
        Interlocked.Add(ref published, events);
        Interlocked.Add(ref tombstones, endedProfiles);
        Interlocked.Exchange(ref checkpoint, offset);
        Interlocked.Exchange(ref lastEventTimestampMs, lastTimestampMs);
        Volatile.Write(ref streamFailing, 0);

        // A delivered batch is progress: a stall ends now, not at the next lag probe (up to 5 s later). Events still
        // pending are measured again from here, at the new checkpoint.
        Interlocked.Exchange(ref pendingAtCheckpoint, offset);
        if (Interlocked.Read(ref pendingSinceTicks) != 0)
        {
            Interlocked.Exchange(ref pendingSinceTicks, clock.GetUtcNow().UtcTicks);
        }
    }

    internal void RecordCheckpoint(long offset) => Interlocked.Exchange(ref checkpoint, offset);

    /// <summary>The projection runs on this node (true) or stopped here for good (false: the lag series disappear).</summary>
    internal void RecordRunningHere(bool isRunning)
    {
        Volatile.Write(ref running, isRunning ? 1 : 0);
        if (!isRunning)
        {
            RecordLag(null, null);
            Volatile.Write(ref streamFailing, 0);
        }
    }

    /// <summary>The projection failed; it restarts from the checkpoint.</summary>
    internal void RecordFailure()
    {
        Interlocked.Increment(ref failures);
        Volatile.Write(ref streamFailing, 1);
    }

    internal void RecordFatal() => Volatile.Write(ref fatal, 1);

    internal void RecordDeadLetter(string reason) => deadLetters.AddOrUpdate(reason, 1, (_, count) => count + 1);

    private IEnumerable<Measurement<long>> ObserveDeadLetters() =>
        deadLetters.Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>("reason", p.Key)));

    internal void RecordProfileSize(int identifiers) => profileSize.Record(identifiers);

    /// <summary>The outcome of a lag probe; null count when this node no longer runs the projection.</summary>
    internal void RecordLag(long? events, DateTimeOffset? oldestUnpublished)
    {
        Interlocked.Exchange(ref oldestUnpublishedTicks, oldestUnpublished?.UtcTicks ?? 0);
        Interlocked.Exchange(ref lagEvents, events ?? -1);

        // Stalled = pending events while the checkpoint stands still; a moving checkpoint (catching up) is progress.
        var at = Checkpoint;
        if (events is null or 0)
        {
            Interlocked.Exchange(ref pendingSinceTicks, 0);
        }
        else if (Interlocked.Exchange(ref pendingAtCheckpoint, at) != at || Interlocked.Read(ref pendingSinceTicks) == 0)
        {
            Interlocked.Exchange(ref pendingSinceTicks, clock.GetUtcNow().UtcTicks);
        }
    }

    private IEnumerable<Measurement<long>> ObserveFailing()
    {
        if (IsRunningHere)
        {
            yield return new Measurement<long>(FailingReason is null ? 0 : 1);
        }
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
        yield return new Measurement<double>(oldest == 0 ? 0 : Math.Max(0, (clock.GetUtcNow().UtcTicks - oldest) / (double)TimeSpan.TicksPerSecond));
    }
}
