using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using IdentityGraph.Cluster.Publishing;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Kafka.Hosting;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Kafka.Outbox;

/// <summary>
/// Publishes the journal to Kafka: the profile events that <see cref="ProfileChangeFeed"/> reads from the journal (woken
/// by each write on this node, which hands over the profile's states, and catching up on an interval) become <c>ProfileEvent</c>s (key = profile id) on the
/// changelog topic and the latest <c>Profile</c> (or a tombstone) on the compacted topic, through an idempotent
/// producer. The checkpoint moves only after a batch is delivered (saved every <see cref="OutboxOptions.CheckpointInterval"/>
/// and at the end), so a crash publishes what was delivered since the last save again (downstream dedupes on profile
/// id + version) and never skips an event.
/// A record larger than <paramref name="messageLimit"/>, or one the broker refuses for good, goes to the outputs'
/// dead-letter topic instead (<see cref="OutboxDeadLetters"/>) and the projection moves on; a transient failure fails
/// the run, which restarts from the checkpoint.
/// </summary>
public sealed class OutboxProjection(
    ProfileChangeFeed feed,
    IProducer<string, byte[]?> producer,
    OutboxOptions options,
    OutboxStatistics statistics,
    int messageLimit,
    ILogger logger)
{
    private const string ContentTypeHeader = "content-type";
    private readonly byte[] contentType = Encoding.UTF8.GetBytes(options.Format == OutputFormat.Json
        ? "application/json"
        : "application/x-protobuf");
    // A read normally takes milliseconds; one this slow delayed every profile event behind it (docs/kafka.md › catch-up).
    private static readonly TimeSpan SlowRead = TimeSpan.FromSeconds(2);
    private OutboxDeadLetters? deadLetters;

    private OutboxDeadLetters DeadLetters => deadLetters ??= new OutboxDeadLetters(producer, options.DeadLetterTopic, messageLimit, Encode, contentType);

    /// <summary>
    /// Runs until <paramref name="stopping"/> fires, then publishes what is already durable, bounded by
    /// <see cref="OutboxOptions.DrainTimeout"/>; every batch handed out is delivered and checkpointed before it
    /// returns. Throws when publishing or the journal fails; the caller restarts it.
    /// </summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var from = await feed.LoadCheckpointAsync();
        statistics.RecordCheckpoint(from);
        logger.OutboxStarting(from);
        // Saved at most every CheckpointInterval, and at the end: a checkpoint is a database write, and the outbox
        // delivers many small batches while the node writes (one per wake-up). A crash publishes again what was
        // delivered since the last save; consumers drop it by (profile id, version).
        ProfileChangeBatch? unsaved = null;
        var sinceSave = System.Diagnostics.Stopwatch.StartNew();
        await foreach (var batch in feed.ReadAsync(from, stopping))
        {
            if (batch.ReadTime >= SlowRead)
            {
                logger.OutboxSlowRead(batch.After, batch.Offset, batch.ReadTime.TotalSeconds);
            }

            var (events, ended, refusedEvents) = await PublishAsync(batch);
            unsaved = batch;
            if (sinceSave.Elapsed >= options.CheckpointInterval)
            {
                await feed.SaveCheckpointAsync(batch);
                unsaved = null;
                sinceSave.Restart();
            }

            statistics.RecordDelivered(events - refusedEvents, ended, batch.Offset, batch.LastTimestamp);
        }

        if (unsaved is not null)
        {
            await feed.SaveCheckpointAsync(unsaved);
        }
    }

    /// <summary>Produces a batch and awaits every delivery; what is refused for good is dead-lettered.</summary>
    private async Task<(int Events, int Ended, int RefusedEvents)> PublishAsync(ProfileChangeBatch batch)
    {
        var deliveries = new List<(Task<DeliveryResult<string, byte[]?>> Delivery, string Topic, ProfileEvent Published, long Offset, long Size)>();
        var refusals = new List<OutboxDeadLetters.Refusal>();
        var ended = 0;
        foreach (var (published, endsProfile, offset) in batch.Changes)
        {
            if (published.Profile is { } profile)
            {
                statistics.RecordProfileSize(profile.Identifiers.Count);
            }

            var key = published.ProfileId;
            Send(options.ProfileEventsTopic, Message(key, Encode(published), published.Version), published, offset);
            Send(options.ProfilesTopic, Message(key, endsProfile ? null : Encode(published.Profile), published.Version), published, offset);
            ended += endsProfile ? 1 : 0;
        }

        foreach (var (delivery, topic, published, offset, size) in deliveries)
        {
            try
            {
                await delivery;
            }
            catch (ProduceException<string, byte[]?> e) when (IsRefusedForGood(e.Error.Code))
            {
                // This record can never be published; the ones after it can. Anything else (time-outs, a broker away)
                // fails the run: it restarts from the checkpoint, and nothing is skipped.
                var code = e.Error.Code is ErrorCode.MsgSizeTooLarge or ErrorCode.RecordListTooLarge ? OutboxErrorCodes.TooLarge : OutboxErrorCodes.Refused;
                refusals.Add(new OutboxDeadLetters.Refusal(
                    topic, published, offset, size, code, $"The broker refused the record for good: {e.Error.Code} ({e.Error.Reason})."));
            }
        }

        foreach (var refusal in refusals)
        {
            await DeadLetters.PublishAsync(refusal);
            statistics.RecordDeadLetter(refusal.Code);
            logger.OutboxDeadLettered(refusal.Event.ProfileId, refusal.Event.Version, refusal.TargetTopic, refusal.Code, refusal.RecordBytes);
        }

        return (batch.Changes.Count, ended, refusals.Count(r => r.TargetTopic == options.ProfileEventsTopic));

        void Send(string topic, Message<string, byte[]?> message, ProfileEvent published, long journalOffset)
        {
            var size = MessageSizeLimit.SizeOf(message);
            if (size > messageLimit)
            {
                refusals.Add(new OutboxDeadLetters.Refusal(topic, published, journalOffset, size, OutboxErrorCodes.TooLarge,
                    $"The record is {size} bytes with overhead; the limit is {messageLimit} (the smallest of the output topics' max.message.bytes and the producer's message.max.bytes)."));
            }
            else
            {
                // The refusal, should the broker refuse it, is written only then (two records a change, most never refused).
                deliveries.Add((producer.ProduceAsync(topic, message), topic, published, journalOffset, size));
            }
        }
    }

    /// <summary>
    /// Errors that concern this one record, so retrying cannot help and the records after it may well get through. A
    /// missing topic or a missing permission concerns every record: the run fails and retries instead (not ready,
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox failed; restarting from the checkpoint in {Delay}")]
    public static partial void OutboxFailed(this ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox did not finish its last batch within the drain time-out; it is published again on the next start")]
    public static partial void OutboxDrainTimedOut(this ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox could not publish event {ProfileId}/{Version} to {Topic} ({Code}, {Bytes} bytes); sent to the dead-letter topic instead")]
    public static partial void OutboxDeadLettered(this ILogger logger, string profileId, long version, string topic, string code, long bytes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox lag probe failed: {Error}")]
    public static partial void OutboxLagProbeFailed(this ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox read of the journal after offset {After} (up to {Offset}) took {Seconds:F1} s: a gap in the journal's ordering numbers was waited for (a write that took an ordering and committed late, or never), or the database was slow")]
    public static partial void OutboxSlowRead(this ILogger logger, long after, long offset, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox stopped at journal offset {Offset}")]
    public static partial void OutboxStopped(this ILogger logger, long offset);
}
