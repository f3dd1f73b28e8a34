namespace IdentityGraph.Kafka.Outbox;

/// <summary>What the outbox projection has delivered, read by the summary, the logs and the metrics.</summary>
public sealed class OutboxStatistics
{
    private long published;
    private long tombstones;
    private long checkpoint;
    private long lastEventTimestampMs;

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
}
