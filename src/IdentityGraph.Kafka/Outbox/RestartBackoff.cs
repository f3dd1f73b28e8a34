namespace IdentityGraph.Kafka.Outbox;

/// <summary>
/// How long the outbox waits before restarting after a failure: <see cref="Minimum"/> after the first failure,
/// doubling with every further failure up to <see cref="Maximum"/> — but only while the runs in between deliver
/// nothing. A run that delivered a batch before it failed was working, so the next wait starts over at the minimum:
/// a transient failure long ago must not leave every later restart waiting the maximum.
/// </summary>
internal sealed class RestartBackoff
{
    private int failuresInARow;

    public RestartBackoff(TimeSpan minimum, TimeSpan maximum)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(minimum, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maximum, minimum);
        Minimum = minimum;
        Maximum = maximum;
    }

    /// <summary>The outbox's back-off: 0.5 s doubling to 30 s.</summary>
    public static RestartBackoff ForOutbox() => new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));

    public TimeSpan Minimum { get; }

    public TimeSpan Maximum { get; }

    /// <summary>A run failed; <paramref name="delivered"/> says whether it delivered anything before. Returns the wait before the next run.</summary>
    public TimeSpan AfterFailure(bool delivered)
    {
        failuresInARow = delivered ? 1 : Math.Min(failuresInARow + 1, 62);
        var delay = Minimum.Ticks * Math.Pow(2, failuresInARow - 1);
        return delay >= Maximum.Ticks ? Maximum : TimeSpan.FromTicks((long)delay);
    }

    /// <summary>A run ended without failing: the next failure waits the minimum.</summary>
    public void Reset() => failuresInARow = 0;
}
