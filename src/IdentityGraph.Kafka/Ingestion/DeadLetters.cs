using System.Globalization;
using System.Text;
using Confluent.Kafka;
using IdentityGraph.Cluster.Pipeline;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Kafka.Ingestion;

/// <summary>The headers a dead letter carries besides the original record's own headers. Never rename one.</summary>
public static class DeadLetterHeaders
{
    /// <summary>The stable error code (docs/error-codes.md), e.g. <c>observation.invalid_json</c>.</summary>
    public const string ErrorCode = "identitygraph.error.code";

    /// <summary>A human-readable reason; never quotes identifier values.</summary>
    public const string ErrorMessage = "identitygraph.error.message";

    public const string SourceTopic = "identitygraph.source.topic";

    public const string SourcePartition = "identitygraph.source.partition";

    public const string SourceOffset = "identitygraph.source.offset";

    /// <summary>The original record's timestamp, Unix milliseconds.</summary>
    public const string SourceTimestamp = "identitygraph.source.timestamp";

    /// <summary>When the record was dead-lettered, ISO 8601 UTC.</summary>
    public const string DeadLetteredAt = "identitygraph.dead-lettered-at";

    /// <summary>
    /// Present (value <c>true</c>) when the broker refused the original value as too large for the dead-letter topic:
    /// the value is then empty, and the source headers say where the original still is.
    /// </summary>
    public const string ValueOmitted = "identitygraph.value-omitted";
}

/// <summary>Error codes the ingestion adds to those of Core (docs/error-codes.md).</summary>
public static class IngestionErrorCodes
{
    /// <summary>The record has no value (a tombstone); the observation pipeline refuses it with this code.</summary>
    public const string NullValue = ObservationErrorCodes.Empty;

    /// <summary>An unexpected failure while reading the record; a bug, reported so the record is not lost.</summary>
    public const string InternalError = "ingestion.internal_error";
}

/// <summary>
/// Writes unusable records to the dead-letter topic: the original key, value and headers, plus the reason and the
/// source position. Card numbers in the original are masked in place (<see cref="CardNumberRedaction"/>), so a raw PAN a
/// producer wrongly sent is not kept here; everything else stays byte for byte. Idempotent producer; the caller commits
/// the source offset only after delivery.
/// </summary>
public sealed class DeadLetterPublisher(IProducer<byte[]?, byte[]?> producer, string topic, TimeProvider? clock = null)
{
    private readonly TimeProvider clock = clock ?? TimeProvider.System;

    public string Topic { get; } = topic;

    /// <summary>Delivers a dead letter for <paramref name="record"/>; retries until delivered or <paramref name="cancellationToken"/> fires.</summary>
    public async Task PublishAsync(ConsumeResult<byte[]?, byte[]?> record, ValidationError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(error);
        var message = Build(record, error, omitValue: false);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await producer.ProduceAsync(Topic, message, cancellationToken);
                return;
            }
            catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code is ErrorCode.MsgSizeTooLarge or ErrorCode.RecordListTooLarge)
            {
                // The broker's limit for this topic is below the record's size: keep the reason and the pointer to the
                // original (still on its source topic) rather than lose the dead letter.
                message = Build(record, error, omitValue: true);
            }
            catch (ProduceException<byte[]?, byte[]?> e) when (!e.Error.IsFatal)
            {
                await Task.Delay(BackoffSchedule.Default.For(attempt), cancellationToken);
            }
        }
    }

    private Message<byte[]?, byte[]?> Build(ConsumeResult<byte[]?, byte[]?> record, ValidationError error, bool omitValue)
    {
        var headers = new Headers();
        if (record.Message.Headers is { } original)
        {
            foreach (var header in original)
            {
                headers.Add(header.Key, CardNumberRedaction.Redact(header.GetValueBytes()));
            }
        }

        Add(headers, DeadLetterHeaders.ErrorCode, error.Code);
        Add(headers, DeadLetterHeaders.ErrorMessage, error.Message);
        Add(headers, DeadLetterHeaders.SourceTopic, record.Topic);
        Add(headers, DeadLetterHeaders.SourcePartition, record.Partition.Value.ToString(CultureInfo.InvariantCulture));
        Add(headers, DeadLetterHeaders.SourceOffset, record.Offset.Value.ToString(CultureInfo.InvariantCulture));
        Add(headers, DeadLetterHeaders.SourceTimestamp, record.Message.Timestamp.UnixTimestampMs.ToString(CultureInfo.InvariantCulture));
        Add(headers, DeadLetterHeaders.DeadLetteredAt, clock.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
        if (omitValue)
        {
            Add(headers, DeadLetterHeaders.ValueOmitted, "true");
        }

        return new Message<byte[]?, byte[]?>
        {
            Key = CardNumberRedaction.Redact(record.Message.Key),
            Value = omitValue ? [] : CardNumberRedaction.Redact(record.Message.Value),
            Headers = headers,
        };
    }

    private static void Add(Headers headers, string key, string value) => headers.Add(key, Encoding.UTF8.GetBytes(value));
}
