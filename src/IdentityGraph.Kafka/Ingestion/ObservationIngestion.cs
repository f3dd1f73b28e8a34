using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Pipeline;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Kafka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Kafka.Ingestion;

/// <summary>
/// The consumer group that feeds observations into the graph, at least once, through the one
/// <see cref="ObservationPipeline"/> (parse → validate and normalise → resolve) with a bounded number in flight;
/// refused records, and those whose retries ran out, go to the dead-letter topic. A partition's offset is stored only
/// up to the highest contiguous observation that is durable (or dead-lettered), so a crash re-reads, and resolving
/// again changes nothing. On revoke (cooperative-sticky) and on stop it drains what is in flight and commits before
/// letting go.
/// </summary>
public sealed class ObservationIngestion : BackgroundService
{
    private readonly KafkaOptions options;
    private readonly IServiceProvider services;
    private readonly ObservationLimits limits;
    private readonly ILogger<ObservationIngestion> logger;
    private readonly ConcurrentDictionary<TopicPartition, OffsetTracker> trackers = new();
    private readonly SemaphoreSlim slots;
    // Cancelled only when a drain gives up: in-flight work outlives the stop signal so it can finish.
    private readonly CancellationTokenSource abort = new();

    // The pipeline is built when the loop starts: its resolver needs the actor system, which starts as an earlier
    // hosted service.
    private ObservationPipeline pipeline = null!;
    private RetryPolicy retry = null!;
    private JournalGate gate = null!;
    // The assignment is paused while the journal gate is closed, or while every slot has been taken for StarvedAfter.
    private bool paused;
    // No slot came free for StarvedAfter: the observations in flight are stuck (e.g. asking shards on a node that died).
    // The loop then pauses the assignment and keeps polling instead of blocking, so that rebalances are served (a dead
    // member's partitions get here in time) and finished offsets are stored. Cleared when a slot is free.
    private bool starved;

    /// <summary>How long the loop waits for a free slot before it pauses the assignment and keeps polling.</summary>
    internal static readonly TimeSpan StarvedAfter = TimeSpan.FromSeconds(1);

    public ObservationIngestion(KafkaOptions options, IServiceProvider services, IngestionStatistics statistics, ILogger<ObservationIngestion> logger, ObservationLimits? limits = null)
    {
        this.options = options;
        this.services = services;
        Statistics = statistics;
        this.logger = logger;
        this.limits = limits ?? ObservationLimits.Default;
        slots = new SemaphoreSlim(options.Ingestion.MaxInFlight);
    }

    public IngestionStatistics Statistics { get; }

    /// <summary>True while the consumer loop runs and has not hit a fatal error.</summary>
    public bool IsRunning
    {
        get => Statistics.IsRunning;
        private set => Statistics.IsRunning = value;
    }

    /// <summary>Partitions currently assigned to this node.</summary>
    public IReadOnlyCollection<TopicPartition> Assignment => trackers.Keys.ToList();

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // librdkafka's Consume blocks: give the loop its own thread rather than a pool thread.
        Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stopping)
    {
        pipeline = new ObservationPipeline(services.GetRequiredService<IdentityResolver>(), limits);
        var journal = services.GetService<JournalStatus>();
        gate = new JournalGate(journal is null ? null : journal.PingAsync, logger);
        retry = new RetryPolicy(options.Ingestion.MaxAttempts) { Hold = gate, Counts = CountsAgainstObservationAsync, Failed = ResolveFailed };
        using var monitorStop = CancellationTokenSource.CreateLinkedTokenSource(stopping, abort.Token);
        var monitor = gate.MonitorAsync(monitorStop.Token);
        using var deadLetterProducer = BuildDeadLetterProducer();
        var deadLetters = new DeadLetterPublisher(deadLetterProducer, options.Ingestion.DeadLetterTopic);
        using var consumer = BuildConsumer();
        consumer.Subscribe(options.Ingestion.EffectiveTopics);
        IsRunning = true;
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.Consuming(string.Join(",", options.Ingestion.EffectiveTopics), options.Ingestion.GroupId);
        }
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                ConsumeResult<byte[]?, byte[]?>? record;
                try
                {
                    record = consumer.Consume(TimeSpan.FromMilliseconds(100));
                }
                catch (ConsumeException e)
                {
                    // Broker-side problems (unknown topic, offset out of range, ...) are reported and the loop goes on;
                    // keys and values are bytes, so no record can fail to deserialise.
                    logger.ConsumeFailed(e.Error.Code, e.Error.Reason);
                    continue;
                }

                StoreCommittable(consumer);
                starved = starved && slots.CurrentCount == 0;
                FollowHolds(consumer);
                if (record?.Message is null)
                {
                    continue;
                }

                var dispatched = gate.IsOpen && !starved ? Dispatch(record, deadLetters, stopping) : DispatchResult.Deferred;
                if (dispatched == DispatchResult.Stopping)
                {
                    break;
                }

                if (dispatched == DispatchResult.Deferred)
                {
                    Rewind(consumer, record);
                }
            }
        }
        catch (KafkaException e) when (e.Error.IsFatal)
        {
            logger.FatalError(e.Error.Code, e.Error.Reason);
            services.GetRequiredService<FatalErrors>().Report("consumer", e.Error.Code.ToString(), e.Error.Reason);
            throw;
        }
        finally
        {
            IsRunning = false;
            Drain(consumer, trackers.Keys.ToList());
            RecordAssignment();
            CloseQuietly(consumer);
            deadLetterProducer.Flush(options.Ingestion.DrainTimeout);
            monitorStop.Cancel();
            monitor.Wait(TimeSpan.FromSeconds(10), CancellationToken.None);
        }
    }

    private enum DispatchResult
    {
        Started,
        Stopping,
        Deferred,
    }

    /// <summary>
    /// Pauses the whole assignment while the journal gate is closed or every slot is stuck (<see cref="starved"/>), and
    /// resumes it when neither holds. The consume loop keeps polling meanwhile, so the node stays in its group however
    /// long the outage or the stall lasts, and a rebalance is served at once.
    /// </summary>
    private void FollowHolds(IConsumer<byte[]?, byte[]?> consumer)
    {
        var hold = !gate.IsOpen || starved;
        if (hold == paused)
        {
            return;
        }

        var assignment = consumer.Assignment;
        if (paused)
        {
            consumer.Resume(assignment);
            paused = false;
            logger.Resumed(assignment.Count);
        }
        else
        {
            consumer.Pause(assignment);
            paused = true;
            if (gate.IsOpen)
            {
                logger.PausedStarved(assignment.Count, options.Ingestion.MaxInFlight, StarvedAfter.TotalSeconds);
            }
            else
            {
                logger.Paused(assignment.Count);
            }
        }
    }

    /// <summary>
    /// A record that was read but not started (the journal went down, or no slot came free): read it again after the
    /// pause. Its partition is paused too, in case it was assigned after the rest of the assignment was paused.
    /// </summary>
    private void Rewind(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> record)
    {
        try
        {
            consumer.Seek(record.TopicPartitionOffset);
            consumer.Pause([record.TopicPartition]);
            paused = true;
        }
        catch (KafkaException e)
        {
            // Revoked meanwhile: its next owner reads it from the last commit.
            logger.RewindFailed(e.Error.Code);
        }
    }

    /// <summary>
    /// Starts processing one record, once a slot is free; deferred when the journal goes down meanwhile, or when no slot
    /// comes free within <see cref="StarvedAfter"/> (the loop then pauses and keeps polling until one does).
    /// </summary>
    private DispatchResult Dispatch(ConsumeResult<byte[]?, byte[]?> record, DeadLetterPublisher deadLetters, CancellationToken stopping)
    {
        try
        {
            var waitingSince = DateTime.UtcNow;
            while (!slots.Wait(TimeSpan.FromMilliseconds(200), stopping))
            {
                if (!gate.IsOpen)
                {
                    return DispatchResult.Deferred;
                }

                if (DateTime.UtcNow - waitingSince >= StarvedAfter)
                {
                    starved = true;
                    return DispatchResult.Deferred;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return DispatchResult.Stopping;
        }

        Statistics.RecordReceived();
        var tracker = trackers.GetOrAdd(record.TopicPartition, _ => new OffsetTracker());
        tracker.Dispatched(record.Offset.Value);
        Task work;
        try
        {
            work = pipeline.Prepare(record.Message.Value, ContentType(record.Message.Headers)) switch
            {
                Prepared.Ready ready => ResolveAsync(deadLetters, record, ready),
                Prepared.Refused refused => DeadLetterAsync(deadLetters, record, refused.Error),
                _ => throw new UnreachableException(),
            };
        }
        catch (Exception e)
        {
            // No input of any shape may stop the stream: an unexpected failure is reported with the record.
            logger.UnexpectedFailure(e, record.Topic, record.Partition.Value, record.Offset.Value);
            work = DeadLetterAsync(deadLetters, record, new ValidationError(IngestionErrorCodes.InternalError, $"Unexpected {e.GetType().Name} while reading the record."));
        }

        work.ContinueWith(
            t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    tracker.Completed(record.Offset.Value);
                }
                else if (t.IsFaulted && logger.IsEnabled(LogLevel.Error))
                {
                    // A fatal dead-letter producer error (which stops the node) or a failure after an abandoned drain:
                    // never silent, the partition's offset stays before this record and it is read again.
                    logger.RecordAbandoned(t.Exception.GetBaseException(), record.Topic, record.Partition.Value, record.Offset.Value);
                }

                slots.Release();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return DispatchResult.Started;
    }

    /// <summary>
    /// Resolves until durable, through the pipeline with the ingestion's <see cref="RetryPolicy"/>: failures are retried
    /// with back-off (every step is idempotent, so resolving again completes what a failed attempt left half done), and
    /// the partition's offset waits meanwhile. After <see cref="IngestionOptions.MaxAttempts"/> counted attempts
    /// (<see cref="CountsAgainstObservationAsync"/>) the record goes to the dead-letter topic with its last error, so one
    /// poison record cannot hold its partition's commits forever. A refusal by the graph (a profile limit) is
    /// dead-lettered at once.
    /// </summary>
    private async Task ResolveAsync(DeadLetterPublisher deadLetters, ConsumeResult<byte[]?, byte[]?> record, Prepared.Ready prepared)
    {
        foreach (var dropped in prepared.Dropped)
        {
            Statistics.RecordDroppedIdentifier(dropped.Error.Code);
        }

        var observation = prepared.Observation;
        switch (await pipeline.ResolveAsync(observation, retry, abort.Token))
        {
            case PipelineOutcome.Resolved resolved:
                Statistics.RecordResolved(resolved.Result, SinceRecordTimestamp(record));
                break;
            case PipelineOutcome.Refused refused:
                await DeadLetterAsync(deadLetters, record, refused.Error);
                break;
            case PipelineOutcome.GaveUp gaveUp:
                logger.ResolveGaveUp(observation.ObservationId, gaveUp.Attempts, gaveUp.Error.Message);
                await DeadLetterAsync(deadLetters, record, new ValidationError(
                    ResolveErrorCodes.ResolveFailed,
                    $"Resolving failed {gaveUp.Attempts} times while other observations were resolved; last error: {gaveUp.Error.Message}"));
                break;
            default:
                throw new UnreachableException();
        }
    }

    /// <summary>
    /// A failed attempt counts against its observation only when the graph demonstrably works without it: the attempt
    /// was not cut short by the journal gate, another observation was resolved on this node since this one's previous
    /// attempt (or no other is in flight to tell), and the journal answers a ping now. A journal outage (nothing
    /// resolves, the ping fails) counts nothing, and neither does a moment when every observation in flight fails.
    /// </summary>
    private async ValueTask<bool> CountsAgainstObservationAsync(FailedAttempt failure, CancellationToken cancellationToken)
    {
        var othersWork = failure.OthersResolved > 0 || options.Ingestion.MaxInFlight - slots.CurrentCount <= 1;
        return !failure.Cancelled && othersWork && await gate.JournalAnswersAsync(cancellationToken);
    }

    private void ResolveFailed(FailedAttempt failure, RetryDecision decision)
    {
        Statistics.RecordRetry();
        if (!decision.GivesUp && failure.Attempt >= 3)
        {
            logger.ResolveRetry(failure.Observation.ObservationId, failure.Attempt, failure.Error.Message);
        }
    }

    private static TimeSpan? SinceRecordTimestamp(ConsumeResult<byte[]?, byte[]?> record) =>
        record.Message.Timestamp.Type == TimestampType.NotAvailable ? null : DateTime.UtcNow - record.Message.Timestamp.UtcDateTime;

    private async Task DeadLetterAsync(DeadLetterPublisher deadLetters, ConsumeResult<byte[]?, byte[]?> record, ValidationError error)
    {
        await deadLetters.PublishAsync(record, error, abort.Token);
        Statistics.RecordDeadLetter(error.Code);
        logger.DeadLettered(record.Topic, record.Partition.Value, record.Offset.Value, error.Code);
    }

    private void StoreCommittable(IConsumer<byte[]?, byte[]?> consumer)
    {
        foreach (var (partition, tracker) in trackers)
        {
            if (tracker.TakeCommittable() is { } position)
            {
                try
                {
                    consumer.StoreOffset(new TopicPartitionOffset(partition, new Offset(position)));
                }
                catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_State)
                {
                    // The partition was revoked meanwhile; its new owner re-reads from the last commit.
                }
            }
        }
    }

    /// <summary>Waits for the in-flight work of <paramref name="partitions"/>, then commits what is durable.</summary>
    private void Drain(IConsumer<byte[]?, byte[]?> consumer, IReadOnlyCollection<TopicPartition> partitions)
    {
        var commits = new List<TopicPartitionOffset>();
        var deadline = DateTime.UtcNow + options.Ingestion.DrainTimeout;
        foreach (var partition in partitions)
        {
            if (!trackers.TryRemove(partition, out OffsetTracker? tracker))
            {
                continue;
            }

            var left = deadline - DateTime.UtcNow;
            if (!tracker.WaitDrained(left > TimeSpan.Zero ? left : TimeSpan.Zero))
            {
                logger.DrainTimedOut(tracker.InFlight, partition.ToString());
            }

            if (tracker.TakeCommittable() is { } position)
            {
                commits.Add(new TopicPartitionOffset(partition, new Offset(position)));
            }
        }

        if (commits.Count == 0)
        {
            return;
        }

        try
        {
            consumer.Commit(commits);
            logger.CommittedOnDrain(commits.Count);
        }
        catch (KafkaException e)
        {
            logger.DrainCommitFailed(e.Error.Code);
        }
    }

    private void CloseQuietly(IConsumer<byte[]?, byte[]?> consumer)
    {
        try
        {
            consumer.Close();
        }
        catch (KafkaException e)
        {
            logger.CloseFailed(e.Error.Code);
        }
    }

    private IConsumer<byte[]?, byte[]?> BuildConsumer()
    {
        var config = new ConsumerConfig(options.BaseConfig("ingestion"))
        {
            GroupId = options.Ingestion.GroupId,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            EnableAutoCommit = true,
            AutoCommitIntervalMs = 1000,
            // Offsets are stored by us, only up to what is durable; auto-commit then commits the stored ones.
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // A fetch returns as soon as data is there; this only bounds how long an idle fetch waits.
            FetchWaitMaxMs = 100,
            // Consumer lag and broker connectivity (metrics, readiness) come from the statistics.
            StatisticsIntervalMs = 2000,
            // A node killed without leaving holds its partitions this long (Kafka's default is 45 s).
            SessionTimeoutMs = (int)options.Ingestion.SessionTimeout.TotalMilliseconds,
            HeartbeatIntervalMs = (int)Math.Min(3000, options.Ingestion.SessionTimeout.TotalMilliseconds / 3),
        };
        if (!string.IsNullOrWhiteSpace(options.Ingestion.InstanceId))
        {
            // Static membership: a restart under the same name takes its partitions back without a rebalance.
            config.GroupInstanceId = options.Ingestion.InstanceId.Trim();
        }

        foreach (var (key, value) in options.Ingestion.Consumer)
        {
            config.Set(key, value);
        }

        return new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => ReportClientError("consumer", e))
            .SetLogHandler((_, m) => logger.Librdkafka(m.Facility, m.Message))
            .SetStatisticsHandler((_, json) =>
            {
                if (ConsumerStatistics.Parse(json) is { } statistics)
                {
                    Statistics.RecordConsumerStatistics(statistics);
                }
            })
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                foreach (var partition in partitions)
                {
                    trackers.TryAdd(partition, new OffsetTracker());
                }

                RecordAssignment();

                logger.Assigned(partitions.Count);
            })
            .SetPartitionsRevokedHandler((consumer, revoked) =>
            {
                logger.Revoked(revoked.Count);
                Drain(consumer, revoked.Select(p => p.TopicPartition).ToList());
                RecordAssignment();
            })
            .SetPartitionsLostHandler((_, lost) =>
            {
                // Lost (not revoked): another member may already own them, so committing is not ours to do.
                foreach (var partition in lost)
                {
                    trackers.TryRemove(partition.TopicPartition, out OffsetTracker? _);
                }

                RecordAssignment();
                logger.Lost(lost.Count);
            })
            .Build();
    }

    private void RecordAssignment() => Statistics.RecordAssignment(trackers.Keys.Select(p => p.Topic));

    private IProducer<byte[]?, byte[]?> BuildDeadLetterProducer()
    {
        var config = new ProducerConfig(options.BaseConfig("dead-letters"))
        {
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            // A dead letter carries the original value untouched, which may be larger than a valid observation.
            MessageMaxBytes = 16 * 1024 * 1024,
        };
        return new ProducerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => ReportClientError("dead-letter producer", e))
            .SetLogHandler((_, m) => logger.Librdkafka(m.Facility, m.Message))
            .Build();
    }

    /// <summary>A fatal client error stops the node (<see cref="FatalErrors"/>) instead of stalling partitions silently.</summary>
    private void ReportClientError(string client, Error error)
    {
        if (error.IsFatal)
        {
            services.GetRequiredService<FatalErrors>().Report(client, error.Code.ToString(), error.Reason);
        }
        else
        {
            logger.ClientError(LogLevel.Warning, client, error.Code, error.Reason);
        }
    }

    private static string? ContentType(Headers? headers) =>
        headers is not null && headers.TryGetLastBytes("content-type", out var bytes) ? Encoding.UTF8.GetString(bytes) : null;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stop consuming; Run's finally drains what is in flight (bounded by DrainTimeout) and commits.
        var inFlight = trackers.Values.Sum(t => t.InFlight);
        logger.Stopping(inFlight);
        var drainLimit = Task.Delay(options.Ingestion.DrainTimeout + TimeSpan.FromSeconds(5), CancellationToken.None);
        var stopping = base.StopAsync(cancellationToken);
        if (await Task.WhenAny(stopping, drainLimit) != stopping)
        {
            await abort.CancelAsync();
        }

        await stopping;
        logger.Stopped();
    }

    public override void Dispose()
    {
        gate?.Dispose();
        abort.Dispose();
        slots.Dispose();
        base.Dispose();
    }
}

internal static partial class IngestionLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Ingestion consuming {Topics} as group {Group}")]
    public static partial void Consuming(this ILogger logger, string topics, string group);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consume failed: {Code} {Reason}")]
    public static partial void ConsumeFailed(this ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Ingestion stopped on a fatal Kafka error: {Code} {Reason}")]
    public static partial void FatalError(this ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected failure reading {Topic}[{Partition}]@{Offset}; dead-lettered")]
    public static partial void UnexpectedFailure(this ILogger logger, Exception exception, string topic, int partition, long offset);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Topic}[{Partition}]@{Offset} was neither resolved nor dead-lettered; its partition commits no further on this node, and the record is read again after a restart")]
    public static partial void RecordAbandoned(this ILogger logger, Exception exception, string topic, int partition, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resolving observation {ObservationId} failed (attempt {Attempt}), retrying: {Error}")]
    public static partial void ResolveRetry(this ILogger logger, string observationId, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Resolving observation {ObservationId} failed {Attempts} times while others were resolved; dead-lettered: {Error}")]
    public static partial void ResolveGaveUp(this ILogger logger, string observationId, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Paused {Count} partitions until the journal answers")]
    public static partial void Paused(this ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Paused {Count} partitions: all {MaxInFlight} observations in flight have waited {Seconds} s; polling on until one finishes")]
    public static partial void PausedStarved(this ILogger logger, int count, int maxInFlight, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resumed {Count} partitions")]
    public static partial void Resumed(this ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not rewind a partition for after the pause: {Code}")]
    public static partial void RewindFailed(this ILogger logger, ErrorCode code);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dead-lettered {Topic}[{Partition}]@{Offset}: {Code}")]
    public static partial void DeadLettered(this ILogger logger, string topic, int partition, long offset, string code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} observations of {Partition} still in flight after the drain time-out; they will be read again")]
    public static partial void DrainTimedOut(this ILogger logger, int count, string partition);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingestion stopping: {Count} observations in flight")]
    public static partial void Stopping(this ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingestion stopped: consumer closed, offsets committed")]
    public static partial void Stopped(this ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Committed {Count} partitions on drain")]
    public static partial void CommittedOnDrain(this ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Commit on drain failed ({Code}); the observations since the last commit will be read again")]
    public static partial void DrainCommitFailed(this ILogger logger, ErrorCode code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leaving the consumer group failed: {Code}")]
    public static partial void CloseFailed(this ILogger logger, ErrorCode code);

    [LoggerMessage(Message = "Kafka {Client}: {Code} {Reason}")]
    public static partial void ClientError(this ILogger logger, LogLevel level, string client, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "librdkafka {Facility}: {Message}")]
    public static partial void Librdkafka(this ILogger logger, string facility, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Assigned {Count} partitions")]
    public static partial void Assigned(this ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revoked {Count} partitions: draining")]
    public static partial void Revoked(this ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost {Count} partitions")]
    public static partial void Lost(this ILogger logger, int count);
}
