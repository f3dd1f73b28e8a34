using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Kafka.Hosting;

/// <summary>
/// A Kafka client error the client cannot recover from (librdkafka's fatal errors: an idempotent producer that lost
/// its guarantees, a fenced producer). Nothing in this process can fix it, and going on would silently stall a
/// partition or the outbox: the node says so (logged Critical, <c>/readyz</c> not ready), stops gracefully, and exits
/// with <see cref="ExitCode"/> so that the orchestrator starts a fresh one.
/// </summary>
public sealed class FatalErrors(IHostApplicationLifetime lifetime, ILogger<FatalErrors> logger)
{
    /// <summary>The process exit code after a fatal client error (70, <c>EX_SOFTWARE</c>).</summary>
    public const int ExitCode = 70;

    private string? reason;

    /// <summary>The first fatal error, as "client: code reason"; null while there was none.</summary>
    public string? Reason => Volatile.Read(ref reason);

    /// <summary>
    /// Records a fatal error of <paramref name="client"/> and stops the application (once; later reports are only
    /// logged). The exit code is set here, so it holds however the stop ends.
    /// </summary>
    public void Report(string client, string code, string description)
    {
        var text = $"{client}: {code} {description}";
        logger.FatalClientError(client, code, description);
        if (Interlocked.CompareExchange(ref reason, text, null) is not null)
        {
            return;
        }

        Environment.ExitCode = ExitCode;
        lifetime.StopApplication();
    }
}

internal static partial class FatalErrorsLog
{
    [LoggerMessage(Level = LogLevel.Critical, Message = "Fatal error of the Kafka {Client}: {Code} {Description}. The node is not ready and stops; the orchestrator should start a new one")]
    public static partial void FatalClientError(this ILogger logger, string client, string code, string description);
}
