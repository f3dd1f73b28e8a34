using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Kafka.Ingestion;

namespace IdentityGraph.Kafka.Outbox;

/// <summary>Error codes of records the outbox could not publish (docs/error-codes.md). Never rename one.</summary>
public static class OutboxErrorCodes
{
    /// <summary>The record is larger than the broker accepts (the topic's <c>max.message.bytes</c> or the producer's limit).</summary>
    public const string TooLarge = "event.too_large";

    /// <summary>The broker refused the record for good (an invalid record, a policy, a timestamp out of range).</summary>
    public const string Refused = "event.refused";
}

/// <summary>The headers of an outbox dead letter besides the error code and message. Never rename one.</summary>
public static class OutboxDeadLetterHeaders
{
    public const string ProfileId = "identitygraph.profile-id";

    /// <summary>The profile's version after the change, as on the event; with the profile id, the downstream dedupe key.</summary>
    public const string Version = "identitygraph.version";

    /// <summary>The topic the record was meant for (the changelog, or the compacted profiles topic).</summary>
    public const string TargetTopic = "identitygraph.target.topic";

    /// <summary>The journal ordering of the event, where the outbox read it.</summary>
    public const string JournalOffset = "identitygraph.journal.offset";

    /// <summary>The size of the refused record in bytes, as counted against the limit.</summary>
    public const string RecordBytes = "identitygraph.record-bytes";
}

/// <summary>
/// Sends what the outbox cannot publish to the outputs' dead-letter topic instead, so one record never stalls every
/// profile behind it. The value is the <c>ProfileEvent</c> without its profile snapshot (what changed, which version),
/// or nothing (header <c>identitygraph.value-omitted</c>) when even that does not fit; the headers say why and where.
/// </summary>
public sealed class OutboxDeadLetters(IProducer<string, byte[]?> producer, string topic, int messageLimit, Func<IMessage, byte[]> encode, byte[] contentType)
{
    /// <summary>One record that could not be published.</summary>
    public sealed record Refusal(string TargetTopic, ProfileEvent Event, long JournalOffset, long RecordBytes, string Code, string Reason);

    /// <summary>Delivers the dead letter; throws when it cannot (the outbox then restarts from its checkpoint).</summary>
    public async Task PublishAsync(Refusal refusal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        var summary = refusal.Event.Clone();
        summary.Profile = null;
        var message = Build(refusal, encode(summary));
        if (MessageSizeLimit.SizeOf(message) > messageLimit)
        {
            message = Build(refusal, null);
            message.Headers.Add(DeadLetterHeaders.ValueOmitted, Encoding.UTF8.GetBytes("true"));
        }

        await producer.ProduceAsync(topic, message, cancellationToken);
    }

    private Message<string, byte[]?> Build(Refusal refusal, byte[]? value)
    {
        var headers = new Headers
        {
            { "content-type", contentType },
            { DeadLetterHeaders.ErrorCode, Utf8(refusal.Code) },
            { DeadLetterHeaders.ErrorMessage, Utf8(refusal.Reason) },
            { OutboxDeadLetterHeaders.ProfileId, Utf8(refusal.Event.ProfileId) },
            { OutboxDeadLetterHeaders.Version, Utf8(refusal.Event.Version.ToString(CultureInfo.InvariantCulture)) },
            { OutboxDeadLetterHeaders.TargetTopic, Utf8(refusal.TargetTopic) },
            { OutboxDeadLetterHeaders.JournalOffset, Utf8(refusal.JournalOffset.ToString(CultureInfo.InvariantCulture)) },
            { OutboxDeadLetterHeaders.RecordBytes, Utf8(refusal.RecordBytes.ToString(CultureInfo.InvariantCulture)) },
            { DeadLetterHeaders.DeadLetteredAt, Utf8(DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)) },
        };
        return new Message<string, byte[]?> { Key = refusal.Event.ProfileId, Value = value, Headers = headers };
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
