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
using IdentityGraph.Cluster.Publishing;
using IdentityGraph.Contracts.V1;
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
/// A record larger than <paramref name="messageLimit"/>, or one the broker refuses for good, goes to the outputs'
/// dead-letter topic instead (<see cref="OutboxDeadLetters"/>) and the projection moves on; a transient failure fails
/// the stream, which restarts from the checkpoint.
/// </summary>
public sealed class OutboxProjection(
    ActorSystem system,
    IProducer<string, byte[]?> producer,
    OutboxOptions options,
    OutboxStatistics statistics,
    int messageLimit,
    ILogger logger)
{
    private const string ContentTypeHeader = "content-type";
    private readonly OutboxCheckpoint checkpoint = new(system, "profile-events", TimeSpan.FromSeconds(30));
    private readonly ProfileStateCache cache = new(options.StateCacheSize);
    private readonly byte[] contentType = Encoding.UTF8.GetBytes(options.Format == OutputFormat.Json
        ? "application/json"
        : "application/x-protobuf");
    private OutboxDeadLetters? deadLetters;
    private long lastElementTicks;

    private OutboxDeadLetters DeadLetters => deadLetters ??= new OutboxDeadLetters(producer, options.DeadLetterTopic, messageLimit, Encode, contentType);

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

        using (stopping.Register(() => _ = DrainThenStopAsync(killSwitch)))
        {
            await completion;
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
        var deliveries = new List<(Task<DeliveryResult<string, byte[]?>> Delivery, OutboxDeadLetters.Refusal IfRefused)>();
        var refusals = new List<OutboxDeadLetters.Refusal>();
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
            var endsProfile = ProfileChanges.EndsProfile(change);
            Send(options.ProfileEventsTopic, Message(key, Encode(published), published.Version), published, offset);
            Send(options.ProfilesTopic, Message(key, endsProfile ? null : Encode(published.Profile), published.Version), published, offset);
            events++;
            ended += endsProfile ? 1 : 0;
        }

        foreach (var (delivery, ifRefused) in deliveries)
        {
            try
            {
                await delivery;
            }
            catch (ProduceException<string, byte[]?> e) when (IsRefusedForGood(e.Error.Code))
            {
                // This record can never be published; the ones after it can. Anything else (time-outs, a broker away)
                // fails the stream: it restarts from the checkpoint, and nothing is skipped.
                var code = e.Error.Code is ErrorCode.MsgSizeTooLarge or ErrorCode.RecordListTooLarge ? OutboxErrorCodes.TooLarge : OutboxErrorCodes.Refused;
                refusals.Add(ifRefused with { Code = code, Reason = $"The broker refused the record for good: {e.Error.Code} ({e.Error.Reason})." });
            }
        }

        foreach (var refusal in refusals)
        {
            await DeadLetters.PublishAsync(refusal);
            statistics.RecordDeadLetter(refusal.Code);
            logger.OutboxDeadLettered(refusal.Event.ProfileId, refusal.Event.Version, refusal.TargetTopic, refusal.Code, refusal.RecordBytes);
        }

        if (offset > 0)
        {
            await checkpoint.SaveAsync(offset);
            statistics.RecordDelivered(events - refusals.Count(r => r.TargetTopic == options.ProfileEventsTopic), ended, offset, lastTimestamp);
        }

        return Done.Instance;

        void Send(string topic, Message<string, byte[]?> message, ProfileEvent published, long journalOffset)
        {
            var size = MessageSizeLimit.SizeOf(message);
            var ifRefused = new OutboxDeadLetters.Refusal(topic, published, journalOffset, size, OutboxErrorCodes.TooLarge,
                $"The record is {size} bytes with overhead; the limit is {messageLimit} (the smallest of the output topics' max.message.bytes and the producer's message.max.bytes).");
            if (size > messageLimit)
            {
                refusals.Add(ifRefused);
            }
            else
            {
                deliveries.Add((producer.ProduceAsync(topic, message), ifRefused));
            }
        }
    }

    /// <summary>
    /// Errors that concern this one record, so retrying cannot help and the records after it may well get through. A
    /// missing topic or a missing permission concerns every record: the stream fails and retries instead (not ready,
    /// alert) rather than send the whole changelog to the dead-letter topic.
    /// </summary>
    private static bool IsRefusedForGood(ErrorCode code) =>
        code is ErrorCode.MsgSizeTooLarge or ErrorCode.RecordListTooLarge or ErrorCode.InvalidRecord
            or ErrorCode.InvalidTimestamp or ErrorCode.PolicyViolation;

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox could not publish event {ProfileId}/{Version} to {Topic} ({Code}, {Bytes} bytes); sent to the dead-letter topic instead")]
    public static partial void OutboxDeadLettered(this ILogger logger, string profileId, long version, string topic, string code, long bytes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox lag probe failed: {Error}")]
    public static partial void OutboxLagProbeFailed(this ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox stopped at journal offset {Offset}")]
    public static partial void OutboxStopped(this ILogger logger, long offset);
}
