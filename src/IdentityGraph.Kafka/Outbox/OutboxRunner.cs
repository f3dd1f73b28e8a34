using Akka.Actor;
using Confluent.Kafka;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Publishing;
using IdentityGraph.Kafka.Hosting;
using IdentityGraph.Kafka.Ingestion;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Kafka.Outbox;

/// <summary>
/// Runs the outbox projection as a cluster singleton: exactly one publisher per cluster, moved to another node when
/// its node leaves. Restarts the projection from its checkpoint after a failure, with back-off; on stop it lets the
/// projection publish what is already durable (bounded by <see cref="OutboxOptions.DrainTimeout"/>). The lag probe runs
/// for as long as the singleton lives here, failures and restarts included, so the lag series never go quiet while
/// the outbox is stuck. A fatal producer error stops the node (<see cref="FatalErrors"/>).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "An actor releases its resources in PostStop.")]
internal sealed class OutboxRunner : UntypedActor
{
    private static readonly TimeSpan LagProbeInterval = TimeSpan.FromSeconds(5);

    private readonly KafkaOptions options;
    private readonly OutboxStatistics statistics;
    private readonly JournalStatus journalStatus;
    private readonly FatalErrors fatalErrors;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stopping = new();
    private IProducer<string, byte[]?>? producer;
    private Task? running;
    private Task? probing;

    public OutboxRunner(KafkaOptions options, OutboxStatistics statistics, JournalStatus journalStatus, FatalErrors fatalErrors, ILogger logger)
    {
        this.options = options;
        this.statistics = statistics;
        this.journalStatus = journalStatus;
        this.fatalErrors = fatalErrors;
        this.logger = logger;
    }

    public static Props PropsFor(KafkaOptions options, OutboxStatistics statistics, JournalStatus journalStatus, FatalErrors fatalErrors, ILogger logger) =>
        Props.Create(() => new OutboxRunner(options, statistics, journalStatus, fatalErrors, logger));

    protected override void PreStart()
    {
        statistics.StallTimeout = options.Outbox.StallTimeout;
        statistics.RecordRunningHere(true);
        running = RunWithRestartsAsync(Context.System, stopping.Token);
        probing = ProbeLagAsync(stopping.Token);
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

        probing?.Wait(TimeSpan.FromSeconds(5));
        producer?.Flush(TimeSpan.FromSeconds(5));
        producer?.Dispose();
        stopping.Dispose();
        statistics.RecordRunningHere(false);
        logger.OutboxStopped(statistics.Checkpoint);
    }

    private async Task RunWithRestartsAsync(ActorSystem system, CancellationToken cancellationToken)
    {
        // The limit decides the producer's batch size too (a batch above the topic's limit is refused whole), so it is
        // read before the producer is built.
        var limit = await MessageSizeLimit.ReadAsync(
            options.BaseConfig("outbox-admin"),
            [options.Outbox.ProfileEventsTopic, options.Outbox.ProfilesTopic, options.Outbox.DeadLetterTopic],
            MessageSizeLimit.ProducerLimit(options.Outbox.Producer),
            options.Outbox.MaxMessageBytes,
            logger);
        producer = BuildProducer(limit);
        var feed = new ProfileChangeFeed(system, new ProfileChangeFeedOptions
        {
            BatchSize = options.Outbox.BatchSize,
            CatchUpInterval = options.Outbox.CatchUpInterval,
            DrainTimeout = options.Outbox.DrainTimeout,
        });
        var projection = new OutboxProjection(feed, producer, options.Outbox, statistics, limit, logger);
        var backoff = RestartBackoff.ForOutbox();
        while (!cancellationToken.IsCancellationRequested)
        {
            var batchesBefore = statistics.DeliveredBatches;
            try
            {
                await projection.RunAsync(cancellationToken);
                backoff.Reset();
            }
            catch (Exception e)
            {
                statistics.RecordFailure();
                var delay = backoff.AfterFailure(delivered: statistics.DeliveredBatches != batchesBefore);
                logger.OutboxFailed(e, delay);
                try
                {
                    if (await WaitForJournalAsync(delay, cancellationToken))
                    {
                        // The failure was the database's outage, which is over: publish now, and a later failure
                        // starts its back-off over (the waits during the outage said nothing about the outbox).
                        backoff.Reset();
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Waits <paramref name="delay"/> before the next run, unless the journal does not answer: then waits until it
    /// answers again, however long that takes, and returns true. During an outage every run fails, so the back-off
    /// would have grown to its maximum and kept the outbox (and /readyz) failing up to 30 s after the database's return.
    /// </summary>
    private async Task<bool> WaitForJournalAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (await journalStatus.PingAsync(cancellationToken))
        {
            await Task.Delay(delay, cancellationToken);
            return false;
        }

        do
        {
            // As often as the ingestion's journal gate probes while closed.
            await Task.Delay(JournalGate.ProbeInterval, cancellationToken);
        }
        while (!await journalStatus.PingAsync(cancellationToken));

        return true;
    }

    /// <summary>Measures what is durable but unpublished, for the lag metrics; a failed probe only skips a sample.</summary>
    private async Task ProbeLagAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(LagProbeInterval);
        try
        {
            do
            {
                try
                {
                    var unpublished = await journalStatus.UnpublishedAfterAsync(statistics.Checkpoint, cancellationToken);
                    statistics.RecordLag(unpublished.Count, unpublished.OldestWrittenAt);
                }
                catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException ||
                    (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    // A slow or unreachable database (its own time-out): no sample this round, the next one tries again.
                    logger.OutboxLagProbeFailed(e.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
            // The singleton stopped here.
        }
    }

    private IProducer<string, byte[]?> BuildProducer(int messageLimit)
    {
        var config = new ProducerConfig(options.BaseConfig("outbox"))
        {
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            MessageMaxBytes = 16 * 1024 * 1024,
            // A batch above the topic's max.message.bytes would be refused as a whole, records that fit included.
            BatchSize = Math.Min(1_000_000, messageLimit),
        };
        foreach (var (key, value) in options.Outbox.Producer)
        {
            config.Set(key, value);
        }

        return new ProducerBuilder<string, byte[]?>(config)
            .SetErrorHandler((_, e) =>
            {
                if (e.IsFatal)
                {
                    statistics.RecordFatal();
                    fatalErrors.Report("outbox producer", e.Code.ToString(), e.Reason);
                }
                else
                {
                    logger.ClientError(LogLevel.Warning, "outbox producer", e.Code, e.Reason);
                }
            })
            .SetLogHandler((_, m) => logger.Librdkafka(m.Facility, m.Message))
            .Build();
    }
}
