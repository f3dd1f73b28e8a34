using Akka.Actor;
using Confluent.Kafka;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Kafka.Hosting;
using IdentityGraph.Kafka.Ingestion;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Kafka.Outbox;

/// <summary>
/// Runs the outbox projection as a cluster singleton: exactly one publisher per cluster, moved to another node when
/// its node leaves. Restarts the projection from its checkpoint after a failure, with back-off; on stop it lets the
/// projection publish what is already durable (bounded by <see cref="OutboxOptions.DrainTimeout"/>).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "An actor releases its resources in PostStop.")]
internal sealed class OutboxRunner : UntypedActor
{
    private readonly KafkaOptions options;
    private readonly OutboxStatistics statistics;
    private readonly JournalStatus journalStatus;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stopping = new();
    private IProducer<string, byte[]?>? producer;
    private Task? running;

    public OutboxRunner(KafkaOptions options, OutboxStatistics statistics, JournalStatus journalStatus, ILogger logger)
    {
        this.options = options;
        this.statistics = statistics;
        this.journalStatus = journalStatus;
        this.logger = logger;
    }

    public static Props PropsFor(KafkaOptions options, OutboxStatistics statistics, JournalStatus journalStatus, ILogger logger) =>
        Props.Create(() => new OutboxRunner(options, statistics, journalStatus, logger));

    protected override void PreStart()
    {
        producer = BuildProducer();
        var projection = new OutboxProjection(Context.System, producer, options.Outbox, statistics, journalStatus, logger);
        running = RunWithRestartsAsync(projection, stopping.Token);
    }

    protected override void OnReceive(object message) => Unhandled(message);

    protected override void PostStop()
    {
        stopping.Cancel();
        // Blocking here is deliberate and bounded: the singleton must not hand over before its last batch is delivered.
        if (running is not null && !running.Wait(options.Outbox.DrainTimeout + TimeSpan.FromSeconds(5)))
        {
            logger.OutboxDrainTimedOut();
        }

        producer?.Flush(TimeSpan.FromSeconds(5));
        producer?.Dispose();
        stopping.Dispose();
        logger.OutboxStopped(statistics.Checkpoint);
    }

    private async Task RunWithRestartsAsync(OutboxProjection projection, CancellationToken cancellationToken)
    {
        for (var attempt = 1; !cancellationToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await projection.RunAsync(cancellationToken);
                attempt = 0;
            }
            catch (Exception e)
            {
                var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 500 * Math.Pow(2, Math.Min(attempt - 1, 8))));
                logger.OutboxFailed(e, delay);
                try
                {
                    await Task.Delay(delay, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private IProducer<string, byte[]?> BuildProducer()
    {
        var config = new ProducerConfig(options.BaseConfig("outbox"))
        {
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            MessageMaxBytes = 16 * 1024 * 1024,
        };
        foreach (var (key, value) in options.Outbox.Producer)
        {
            config.Set(key, value);
        }

        return new ProducerBuilder<string, byte[]?>(config)
            .SetErrorHandler((_, e) => logger.ClientError(e.IsFatal ? LogLevel.Critical : LogLevel.Warning, "outbox producer", e.Code, e.Reason))
            .SetLogHandler((_, m) => logger.Librdkafka(m.Facility, m.Message))
            .Build();
    }
}
