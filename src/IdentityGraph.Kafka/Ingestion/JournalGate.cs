using IdentityGraph.Cluster.Pipeline;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Kafka.Ingestion;

/// <summary>
/// Closed while the journal database does not answer. Ingestion then takes no new records, the attempts in flight are
/// cancelled (an ask to an entity whose write failed would otherwise wait for its whole time-out) and wait here
/// without using up their attempts, so an outage dead-letters nothing. When the database answers again everything
/// resumes at once instead of after its back-off. The database is pinged every <see cref="CheckInterval"/> while
/// open and every <see cref="ProbeInterval"/> while closed. It is the hold of the ingestion's
/// <see cref="RetryPolicy"/>: a closed gate holds the observation pipeline's retries.
/// </summary>
internal sealed class JournalGate(Func<CancellationToken, Task<bool>>? ping, ILogger logger) : IDisposable, IAttemptHold
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(250);

    private TaskCompletionSource? outage;
    private CancellationTokenSource attempts = new();
    private DateTime closedAt;

    /// <summary>True while the journal answers (or nothing has said otherwise yet).</summary>
    public bool IsOpen => Volatile.Read(ref outage) is null;

    /// <summary>Cancelled when the journal stops answering: an attempt started now links to it.</summary>
    public CancellationToken AttemptToken => Volatile.Read(ref attempts).Token;

    bool IAttemptHold.IsHeld => !IsOpen;

    /// <summary>Completes at once when open, otherwise when the journal answers again.</summary>
    public Task WaitOpenAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref outage) is { } current ? current.Task.WaitAsync(cancellationToken) : Task.CompletedTask;

    Task IAttemptHold.WaitAsync(CancellationToken cancellationToken) => WaitOpenAsync(cancellationToken);

    /// <summary>True when the journal answers a ping now (always, without a ping).</summary>
    public async Task<bool> JournalAnswersAsync(CancellationToken cancellationToken) =>
        ping is null || await ping(cancellationToken);

    /// <summary>Pings the journal until <paramref name="stopping"/>, closing and opening the gate.</summary>
    public async Task MonitorAsync(CancellationToken stopping)
    {
        if (ping is null)
        {
            return;
        }

        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var answers = await ping(stopping);
                if (!answers && IsOpen)
                {
                    Close();
                }
                else if (answers && !IsOpen)
                {
                    Open();
                }

                await Task.Delay(IsOpen ? CheckInterval : ProbeInterval, stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            // Nothing may wait for a gate nobody watches any more.
            if (!IsOpen)
            {
                Open();
            }
        }
    }

    public void Dispose() => Volatile.Read(ref attempts).Dispose();

    private void Close()
    {
        logger.JournalDown();
        closedAt = DateTime.UtcNow;
        Volatile.Write(ref outage, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        // Not disposed: attempts still hold tokens linked to it (a cancelled source without a timer holds nothing).
        var cancelled = Interlocked.Exchange(ref attempts, new CancellationTokenSource());
        cancelled.Cancel();
    }

    private void Open()
    {
        var closed = Interlocked.Exchange(ref outage, null);
        logger.JournalBack((DateTime.UtcNow - closedAt).TotalSeconds);
        closed?.TrySetResult();
    }
}

internal static partial class JournalGateLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "The journal database does not answer: ingestion paused until it does")]
    public static partial void JournalDown(this ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "The journal database answers again after {Seconds:F1} s: ingestion resumes")]
    public static partial void JournalBack(this ILogger logger, double seconds);
}
