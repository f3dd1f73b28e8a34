using IdentityGraph.Cluster.Resolution;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Cluster.Hosting;

/// <summary>
/// Starts the identifier index when the node starts: every index slice recovers its part of the index from the journal
/// then, in the background, instead of when the first observations or lookups reach it (docs/architecture.md ›
/// Start-up). It blocks nothing: ingestion and the API start at the same time, and a slice that is not up yet is
/// started by whatever reaches it first, as before. <see cref="Started"/> completes when every slice has answered.
/// </summary>
public sealed partial class IndexStartup(IServiceProvider services, ILogger<IndexStartup> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource stopping = new();
    private readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when every index slice has recovered and answered (never faults: a failure is logged).</summary>
    public Task Started => started.Task;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolved now, not in the constructor: the actor system (a hosted service started before this one) registers
        // the regions the resolver needs when it starts.
        _ = StartIndexAsync(services.GetRequiredService<IdentityResolver>());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        stopping.Cancel();
        return Task.CompletedTask;
    }

    public void Dispose() => stopping.Dispose();

    private async Task StartIndexAsync(IdentityResolver resolver)
    {
        try
        {
            await resolver.StartIndexAsync(stopping.Token);
        }
        catch (Exception e) when (e is TimeoutException or Akka.Actor.AskTimeoutException or OperationCanceledException)
        {
            // Not an error of its own: the slices start on first use instead.
            if (!stopping.IsCancellationRequested)
            {
                IndexNotStarted(logger, e.Message);
            }
        }
        finally
        {
            started.TrySetResult();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The identifier index did not start with the node ({Error}); its slices start on first use instead")]
    private static partial void IndexNotStarted(ILogger logger, string error);
}
