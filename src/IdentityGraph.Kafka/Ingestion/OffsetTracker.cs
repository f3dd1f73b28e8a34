namespace IdentityGraph.Kafka.Ingestion;

/// <summary>
/// The offsets of one partition that are in flight, and the offset that may be committed: the highest position below
/// which every observation is durable (or dead-lettered). Observations complete out of order; committing past one that
/// is still in flight would lose it on a crash. Thread-safe.
/// </summary>
public sealed class OffsetTracker
{
    private readonly SortedSet<long> inFlight = [];
    private readonly object gate = new();
    private long nextAfterDispatched = -1;
    private long stored = -1;

    /// <summary>Observations of this partition still in flight.</summary>
    public int InFlight
    {
        get
        {
            lock (gate)
            {
                return inFlight.Count;
            }
        }
    }

    /// <summary>Records that <paramref name="offset"/> was handed to processing. Offsets arrive in increasing order.</summary>
    public void Dispatched(long offset)
    {
        lock (gate)
        {
            inFlight.Add(offset);
            nextAfterDispatched = Math.Max(nextAfterDispatched, offset + 1);
        }
    }

    /// <summary>Records that <paramref name="offset"/> is durable; unknown offsets are ignored.</summary>
    public void Completed(long offset)
    {
        lock (gate)
        {
            inFlight.Remove(offset);
        }
    }

    /// <summary>
    /// The position to commit (the next offset to read after a restart) when it moved since the last call, else null.
    /// </summary>
    public long? TakeCommittable()
    {
        lock (gate)
        {
            var committable = inFlight.Count > 0 ? inFlight.Min : nextAfterDispatched;
            if (committable <= stored)
            {
                return null;
            }

            stored = committable;
            return committable;
        }
    }

    /// <summary>Waits until nothing is in flight or <paramref name="timeout"/> passes; true when drained.</summary>
    public bool WaitDrained(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (InFlight > 0)
        {
            if (DateTime.UtcNow >= deadline || cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            Thread.Sleep(5);
        }

        return true;
    }
}
