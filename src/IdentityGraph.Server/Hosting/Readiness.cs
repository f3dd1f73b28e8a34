using System.Text.Json.Nodes;
using Akka.Cluster;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Kafka.Hosting;
using IdentityGraph.Kafka.Ingestion;
using IdentityGraph.Kafka.Outbox;

namespace IdentityGraph.Server.Hosting;

/// <summary>
/// <c>/readyz</c>: this node can do its work — its cluster member is up, the journal answers, the Kafka consumer is
/// connected to a broker, ingestion runs, the outbox (on the node that runs it) can publish, and no Kafka client had a
/// fatal error. The journal check is cached for a moment so frequent probes cost one query per interval.
/// </summary>
public sealed class Readiness(
    Akka.Actor.ActorSystem system, JournalStatus journal, IngestionStatistics ingestion, OutboxStatistics outbox, FatalErrors fatalErrors) : IDisposable
{
    private static readonly TimeSpan JournalCheckInterval = TimeSpan.FromSeconds(2);
    private readonly SemaphoreSlim checking = new(1, 1);
    private (DateTime At, bool Reachable) journalCheck = (DateTime.MinValue, false);

    /// <summary>Whether the node is ready, and each check's state as a JSON object.</summary>
    public async Task<(bool Ready, JsonObject Checks)> CheckAsync(CancellationToken cancellationToken)
    {
        var member = Akka.Cluster.Cluster.Get(system).SelfMember.Status;
        var journalReachable = await JournalReachableAsync(cancellationToken);
        var kafka = ingestion.KafkaConnected;
        var outboxFailing = outbox.FailingReason;
        var checks = new JsonObject
        {
            ["cluster"] = member.ToString().ToLowerInvariant(),
            ["journal"] = journalReachable ? "reachable" : "unreachable",
            ["kafka"] = kafka switch { true => "connected", false => "disconnected", null => "connecting" },
            ["ingestion"] = ingestion.IsRunning ? "running" : "not running",
            // "elsewhere": the outbox is a cluster singleton and runs on another node.
            ["outbox"] = !outbox.IsRunningHere ? "elsewhere" : outboxFailing is null ? "publishing" : "failing",
        };
        if (outboxFailing is not null)
        {
            checks["outboxReason"] = outboxFailing;
        }

        if (fatalErrors.Reason is { } fatal)
        {
            checks["fatal"] = fatal;
        }

        var ready = member == MemberStatus.Up && journalReachable && kafka == true && ingestion.IsRunning && outboxFailing is null && fatalErrors.Reason is null;
        return (ready, checks);
    }

    private async Task<bool> JournalReachableAsync(CancellationToken cancellationToken)
    {
        await checking.WaitAsync(cancellationToken);
        try
        {
            if (DateTime.UtcNow - journalCheck.At > JournalCheckInterval)
            {
                journalCheck = (DateTime.UtcNow, await journal.PingAsync(cancellationToken));
            }

            return journalCheck.Reachable;
        }
        finally
        {
            checking.Release();
        }
    }

    public void Dispose() => checking.Dispose();
}
