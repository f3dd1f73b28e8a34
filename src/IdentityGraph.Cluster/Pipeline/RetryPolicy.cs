using IdentityGraph.Core.Observations;

namespace IdentityGraph.Cluster.Pipeline;

/// <summary>
/// Exponential back-off for retries of transient failures: <see cref="First"/> before the first retry, doubling, at
/// most <see cref="Max"/>. <see cref="Default"/> (100 ms doubling to 10 s) is what the observation pipeline and the
/// Kafka dead-letter producer wait between attempts.
/// </summary>
public sealed class BackoffSchedule
{
    public BackoffSchedule(TimeSpan first, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(first, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, first);
        First = first;
        Max = max;
    }

    /// <summary>100 ms doubling, at most 10 s.</summary>
    public static BackoffSchedule Default { get; } = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));

    public TimeSpan First { get; }

    public TimeSpan Max { get; }

    /// <summary>The wait before retry number <paramref name="retry"/> (1 for the first retry).</summary>
    public TimeSpan For(int retry) =>
        TimeSpan.FromMilliseconds(Math.Min(Max.TotalMilliseconds, First.TotalMilliseconds * Math.Pow(2, Math.Clamp(retry - 1, 0, 30))));
}

/// <summary>
/// Something that holds every attempt for a while, e.g. the Kafka ingestion's journal gate while the journal database
/// does not answer. A held retry waits for <see cref="WaitAsync"/> instead of its back-off and then starts at once
/// with a fresh back-off.
/// </summary>
public interface IAttemptHold
{
    /// <summary>True while attempts are held.</summary>
    bool IsHeld { get; }

    /// <summary>Cancelled when a hold begins: an attempt started now is cancelled with it instead of waiting out its time-out.</summary>
    CancellationToken AttemptToken { get; }

    /// <summary>Completes at once when not held, otherwise when the hold ends.</summary>
    Task WaitAsync(CancellationToken cancellationToken);
}

/// <summary>One failed attempt at resolving an observation, as the retry policy's hooks see it.</summary>
/// <param name="Observation">The observation (log its id, never its identifiers).</param>
/// <param name="Error">Why the attempt failed.</param>
/// <param name="Attempt">1 for the first attempt, counted or not.</param>
/// <param name="OthersResolved">
/// Observations the same <see cref="ObservationPipeline"/> resolved since this one's previous failed attempt (or its
/// first attempt): the graph worked meanwhile.
/// </param>
/// <param name="Cancelled">The attempt was cancelled by the policy's <see cref="IAttemptHold"/>.</param>
public sealed record FailedAttempt(NormalizedObservation Observation, Exception Error, int Attempt, long OthersResolved, bool Cancelled);

/// <summary>What the pipeline does after a failed attempt.</summary>
/// <param name="Counted">The attempt counted against the observation's <see cref="RetryPolicy.MaxAttempts"/>.</param>
/// <param name="CountedAttempts">Counted attempts so far, this one included.</param>
/// <param name="GivesUp">The bound is reached: the outcome is <see cref="PipelineOutcome.GaveUp"/>.</param>
/// <param name="RetryIn">The back-off before the next attempt; null when giving up or when held (retried as soon as the hold ends).</param>
public sealed record RetryDecision(bool Counted, int CountedAttempts, bool GivesUp, TimeSpan? RetryIn);

/// <summary>
/// The one retry policy of the observation pipeline (<see cref="ObservationPipeline.ResolveAsync"/>). A failed resolve
/// is a transient failure: it is retried after <see cref="Backoff"/>, and after <see cref="MaxAttempts"/> failed
/// attempts that <see cref="Counts"/> the pipeline gives up. A permanent refusal (a profile limit) is never retried.
/// Retrying is safe because every step of the resolver is idempotent: a retry completes what a failed attempt left
/// half done.
/// </summary>
public sealed class RetryPolicy
{
    public RetryPolicy(int maxAttempts, BackoffSchedule? backoff = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        MaxAttempts = maxAttempts;
        Backoff = backoff ?? BackoffSchedule.Default;
    }

    /// <summary>Counted failed attempts after which the pipeline gives up.</summary>
    public int MaxAttempts { get; }

    /// <summary>The wait between attempts; it starts again from its first step after a hold.</summary>
    public BackoffSchedule Backoff { get; }

    /// <summary>
    /// Decides whether a failed attempt counts against its observation; null counts every failure. The Kafka ingestion
    /// counts one only when the graph demonstrably works without it (other observations resolve, the journal answers),
    /// so an outage never uses up an observation's attempts.
    /// </summary>
    public Func<FailedAttempt, CancellationToken, ValueTask<bool>>? Counts { get; init; }

    /// <summary>Holds attempts (and cancels those in flight) while it says so; null holds nothing.</summary>
    public IAttemptHold? Hold { get; init; }

    /// <summary>Hears every failed attempt and what follows (statistics, logs).</summary>
    public Action<FailedAttempt, RetryDecision>? Failed { get; init; }
}
