using System.Threading.Channels;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Cluster.Resolution;

/// <summary>One observation waiting in a micro-batch, and the caller waiting for it.</summary>
internal sealed class PendingResolve(NormalizedObservation observation)
{
    public NormalizedObservation Observation { get; } = observation;

    public TaskCompletionSource<ResolveResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// Groups concurrent <see cref="IdentityResolver.ResolveAsync(NormalizedObservation, CancellationToken)"/> calls into
/// micro-batches (<see cref="BatchingOptions"/>) and hands each batch to the resolver: every caller of the node — Kafka
/// partitions, an import, the API — shares the batches, so under load they fill up by themselves.
/// </summary>
internal sealed class ResolutionBatcher : IDisposable
{
    private readonly Channel<PendingResolve> queue = Channel.CreateUnbounded<PendingResolve>(new UnboundedChannelOptions { SingleReader = true });
    private readonly BatchingOptions options;
    private readonly Func<IReadOnlyList<PendingResolve>, CancellationToken, Task> resolveBatch;
    private readonly SemaphoreSlim slots;

    /// <param name="resolveBatch">
    /// Resolves a batch; its token is cancelled once every caller of the batch has stopped waiting (see
    /// <see cref="RunBatchAsync"/>).
    /// </param>
    public ResolutionBatcher(BatchingOptions options, Func<IReadOnlyList<PendingResolve>, CancellationToken, Task> resolveBatch)
    {
        this.options = options;
        this.resolveBatch = resolveBatch;
        slots = new SemaphoreSlim(options.MaxInFlight);
        _ = Task.Run(RunAsync);
    }

    /// <summary>Queues an observation; the task completes when its batch is durable (or fails with it).</summary>
    public Task<ResolveResult> Enqueue(NormalizedObservation observation, CancellationToken cancellationToken)
    {
        var pending = new PendingResolve(observation);
        if (!queue.Writer.TryWrite(pending))
        {
            return Task.FromException<ResolveResult>(new ObjectDisposedException(nameof(IdentityResolver), "The resolver is stopping."));
        }

        if (cancellationToken.CanBeCanceled)
        {
            // The batch goes on (every step is idempotent); only this caller stops waiting.
            var registration = cancellationToken.Register(() => pending.Completion.TrySetCanceled(cancellationToken));
            _ = pending.Completion.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return pending.Completion.Task;
    }

    /// <summary>Accepts nothing more and fails whatever is still queued.</summary>
    public void Dispose()
    {
        queue.Writer.TryComplete();
        while (queue.Reader.TryRead(out var pending))
        {
            pending.Completion.TrySetException(new ObjectDisposedException(nameof(IdentityResolver), "The resolver stopped before this observation's batch started."));
        }
    }

    private async Task RunAsync()
    {
        var reader = queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            await slots.WaitAsync();
            var batch = new List<PendingResolve>();
            Take(reader, batch);
            if (batch.Count < options.MaxSize && options.MaxWait > TimeSpan.Zero)
            {
                await Task.Delay(options.MaxWait);
                Take(reader, batch);
            }

            if (batch.Count == 0)
            {
                slots.Release();
                continue;
            }

            _ = RunBatchAsync(batch);
        }
    }

    private void Take(ChannelReader<PendingResolve> reader, List<PendingResolve> batch)
    {
        while (batch.Count < options.MaxSize && reader.TryRead(out var pending))
        {
            if (!pending.Completion.Task.IsCompleted)
            {
                batch.Add(pending);
            }
        }
    }

    /// <summary>
    /// Runs one batch in a slot. When no caller of the batch waits any more (each was answered or cancelled its call:
    /// ingestion cancels all attempts in flight when the journal goes away), the batch is abandoned at once instead of
    /// holding its slot until its asks time out — an index slice whose write failed has stopped and never answers, and
    /// the callers' retries would otherwise queue behind batches nobody waits for. Abandoning is safe: every step
    /// is idempotent and the callers resubmit.
    /// </summary>
    private async Task RunBatchAsync(List<PendingResolve> batch)
    {
        using var abandoned = new CancellationTokenSource();
        var waiting = batch.Count;
        // Set before `abandoned` is disposed: the callers' completions usually run after the batch ended (each is
        // answered by it), and cancelling a disposed source throws — once per batch, tens of times a second.
        var finished = 0;
        foreach (var pending in batch)
        {
            _ = pending.Completion.Task.ContinueWith(
                _ =>
                {
                    // Completed by the batch (result or refusal) or cancelled by its caller: one fewer waiting.
                    if (Interlocked.Decrement(ref waiting) == 0 && Volatile.Read(ref finished) == 0)
                    {
                        try
                        {
                            abandoned.Cancel();
                        }
                        catch (ObjectDisposedException)
                        {
                            // The batch finished between the check and the call.
                        }
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        try
        {
            await resolveBatch(batch, abandoned.Token);
        }
        catch (Exception e)
        {
            // The whole batch failed: its callers retry their observations (each step is idempotent).
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(e);
            }
        }
        finally
        {
            Volatile.Write(ref finished, 1);
            slots.Release();
        }
    }
}
