using System.Text;
using Akka;
using Akka.Actor;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Confluent.Kafka;
using Google.Protobuf;
using IdentityGraph.Cluster.Export;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Core.Profiles;
using IdentityGraph.Kafka.Hosting;
using Microsoft.Extensions.Logging;
using EventEnvelope = Akka.Persistence.Query.EventEnvelope;
using QueryOffset = Akka.Persistence.Query.Offset;
using Sequence = Akka.Persistence.Query.Sequence;

namespace IdentityGraph.Kafka.Outbox;

/// <summary>
/// Publishes the journal to Kafka: events tagged <c>profile</c> are read in journal order (<c>EventsByTag</c>), turned
/// into <c>ProfileEvent</c>s (key = profile id) on the changelog topic and the latest <c>Profile</c> (or a tombstone)
/// on the compacted topic, through an idempotent producer. The checkpoint moves only after a batch is delivered, so a
/// crash publishes the last batch again (downstream dedupes on profile id + version) and never skips an event.
/// </summary>
public sealed class OutboxProjection(
    ActorSystem system,
    IProducer<string, byte[]?> producer,
    OutboxOptions options,
    OutboxStatistics statistics,
    JournalStatus journalStatus,
    ILogger logger)
{
    private static readonly TimeSpan LagProbeInterval = TimeSpan.FromSeconds(5);
    private const string ContentTypeHeader = "content-type";
    private readonly OutboxCheckpoint checkpoint = new(system, "profile-events", TimeSpan.FromSeconds(30));
    private readonly ProfileStateCache cache = new(options.StateCacheSize);
    private readonly byte[] contentType = Encoding.UTF8.GetBytes(options.Format == OutputFormat.Json
        ? "application/json"
        : "application/x-protobuf");
    private long lastElementTicks;

    /// <summary>
    /// Runs until <paramref name="stopping"/> fires, then keeps going until nothing new arrived for a moment (what is
    /// already durable gets out) or <see cref="OutboxOptions.DrainTimeout"/> passes; the last batch is delivered and
    /// checkpointed before it returns. Throws when the stream fails; the caller restarts it.
    /// </summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        cache.Clear();
        // Here, not in the constructor: a failure to create it is retried with the rest of the run.
        var journal = await ProfileJournal.ReadJournalAsync(system, stopping);
        var from = await checkpoint.LoadAsync(CancellationToken.None);
        statistics.RecordCheckpoint(from);
        logger.OutboxStarting(from);
        var (killSwitch, completion) = journal.EventsByTag(PersistenceHocon.ProfileTag, QueryOffset.Sequence(from))
            .ViaMaterialized(KillSwitches.Single<EventEnvelope>(), Keep.Right)
            .Select(envelope =>
            {
                Interlocked.Exchange(ref lastElementTicks, DateTime.UtcNow.Ticks);
                return envelope;
            })
            .GroupedWithin(options.BatchSize, TimeSpan.FromMilliseconds(10))
            .SelectAsync(1, PublishAsync)
            .ToMaterialized(Sink.Ignore<Done>(), Keep.Both)
            .Run(system.Materializer());

        using var probing = new CancellationTokenSource();
        var probe = ProbeLagAsync(probing.Token);
        try
        {
            using (stopping.Register(() => _ = DrainThenStopAsync(killSwitch)))
            {
                await completion;
            }
        }
        finally
        {
            await probing.CancelAsync();
            await probe;
            statistics.RecordLag(null, null);
        }
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
            // The projection stopped.
        }
    }

    private async Task DrainThenStopAsync(UniqueKillSwitch killSwitch)
    {
        var deadline = DateTime.UtcNow + options.DrainTimeout;
        // Quiet for a second: longer than the query's refresh interval, so an event written just before the stop is read.
        while (DateTime.UtcNow < deadline && DateTime.UtcNow - new DateTime(Interlocked.Read(ref lastElementTicks), DateTimeKind.Utc) < TimeSpan.FromSeconds(1))
        {
            await Task.Delay(100, CancellationToken.None);
        }

        // Completes the stream after the batch in flight is delivered and checkpointed.
        killSwitch.Shutdown();
    }

    private async Task<Done> PublishAsync(IEnumerable<EventEnvelope> batch)
    {
        var deliveries = new List<Task<DeliveryResult<string, byte[]?>>>();
        long offset = 0;
        long lastTimestamp = 0;
        var ended = 0;
        var events = 0;
        foreach (var envelope in batch)
        {
            offset = ((Sequence)envelope.Offset).Value;
            lastTimestamp = envelope.Timestamp;
            if (!ProfileJournal.TryRead(envelope, out var id, out var change))
            {
                continue;
            }

            var before = cache.Get(envelope.PersistenceId, envelope.SequenceNr - 1)
                ?? await ProfileJournal.ReplayAsync(system, id, envelope.SequenceNr - 1);
            var after = ProfileDecider.Apply(before, change);
            cache.Put(envelope.PersistenceId, envelope.SequenceNr, after);

            var published = ProfileChanges.ToContract(id, before, change, after);
            if (published.Profile is { } profile)
            {
                statistics.RecordProfileSize(profile.Identifiers.Count);
            }

            var key = published.ProfileId;
            deliveries.Add(producer.ProduceAsync(options.ProfileEventsTopic, Message(key, Encode(published), published.Version)));
            var endsProfile = ProfileChanges.EndsProfile(change);
            deliveries.Add(producer.ProduceAsync(options.ProfilesTopic, Message(key, endsProfile ? null : Encode(published.Profile), published.Version)));
            events++;
            ended += endsProfile ? 1 : 0;
        }

        // Throws when a delivery failed for good (the idempotent producer retries transient errors itself): the stream
        // fails, the caller restarts it from the checkpoint, and nothing is skipped.
        await Task.WhenAll(deliveries);
        if (offset > 0)
        {
            await checkpoint.SaveAsync(offset);
            statistics.RecordDelivered(events, ended, offset, lastTimestamp);
        }

        return Done.Instance;
    }

    private byte[] Encode(IMessage message) =>
        options.Format == OutputFormat.Json ? Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(message)) : message.ToByteArray();

    private Message<string, byte[]?> Message(string key, byte[]? value, long version) => new()
    {
        Key = key,
        Value = value,
        Headers = new Headers
        {
            { ContentTypeHeader, contentType },
            // The downstream dedupe key, also readable without decoding the value (and on tombstones).
            { "identitygraph.dedupe-key", Encoding.UTF8.GetBytes(FormattableString.Invariant($"{key}/{version}")) },
        },
    };
}

internal static partial class OutboxLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox publishing from journal offset {Offset}")]
    public static partial void OutboxStarting(this ILogger logger, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox stream failed; restarting from the checkpoint in {Delay}")]
    public static partial void OutboxFailed(this ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox did not finish its last batch within the drain time-out; it is published again on the next start")]
    public static partial void OutboxDrainTimedOut(this ILogger logger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox lag probe failed: {Error}")]
    public static partial void OutboxLagProbeFailed(this ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox stopped at journal offset {Offset}")]
    public static partial void OutboxStopped(this ILogger logger, long offset);
}
