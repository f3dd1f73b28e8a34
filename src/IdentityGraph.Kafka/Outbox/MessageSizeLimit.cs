using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Kafka.Outbox;

/// <summary>
/// The largest record the outbox may produce: the smallest of the output topics' <c>max.message.bytes</c> (read from
/// the broker with DescribeConfigs, or as configured), and the producer's own <c>message.max.bytes</c> when it is set. A broker that does
/// not answer (no DescribeConfigs permission, the dev broker, a time-out) leaves Kafka's default, 1,000,000 bytes
/// (rounded down from the broker's 1,048,588 so that batch overhead fits).
/// </summary>
public static class MessageSizeLimit
{
    /// <summary>The limit assumed when the broker does not say.</summary>
    public const int Default = 1_000_000;

    /// <summary>
    /// What a record batch adds to a record's key, value and headers (batch header 61 bytes, record header and varints
    /// about 20, plus a margin for header framing): a record is produced only if its payload plus this fits.
    /// </summary>
    public const int Overhead = 512;

    private static readonly TimeSpan DescribeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Reads the limit for <paramref name="topics"/>, or takes <paramref name="configuredLimit"/> (the topics' limit as
    /// configured, 0 for none) without asking the broker; never throws.
    /// </summary>
    public static async Task<int> ReadAsync(ClientConfig client, IReadOnlyCollection<string> topics, int? producerLimit, int configuredLimit, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(topics);
        int? brokerLimit = configuredLimit > 0 ? configuredLimit : null;
        try
        {
            brokerLimit ??= await DescribeAsync(client, topics);
        }
        catch (Exception e) when (e is KafkaException or TimeoutException or InvalidOperationException)
        {
            logger.MessageLimitUnknown(e.Message, Default);
        }

        var limit = Math.Min(brokerLimit ?? Default, producerLimit ?? int.MaxValue);
        logger.MessageLimit(limit, brokerLimit, producerLimit);
        return limit;
    }

    /// <summary>The smallest <c>max.message.bytes</c> of <paramref name="topics"/>, null when none says.</summary>
    private static async Task<int?> DescribeAsync(ClientConfig client, IReadOnlyCollection<string> topics)
    {
        int? brokerLimit = null;
        using var admin = new AdminClientBuilder(new AdminClientConfig(client)).Build();
        var described = await admin.DescribeConfigsAsync(
            topics.Select(t => new ConfigResource { Type = ResourceType.Topic, Name = t }),
            new DescribeConfigsOptions { RequestTimeout = DescribeTimeout }).WaitAsync(DescribeTimeout + TimeSpan.FromSeconds(1));
        foreach (var entry in described.SelectMany(r => r.Entries.Values).Where(e => e.Name == "max.message.bytes"))
        {
            if (int.TryParse(entry.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes > 0)
            {
                brokerLimit = Math.Min(brokerLimit ?? int.MaxValue, bytes);
            }
        }

        return brokerLimit;
    }

    /// <summary>The producer's <c>message.max.bytes</c> when the configuration sets it.</summary>
    public static int? ProducerLimit(IReadOnlyDictionary<string, string> producerSettings) =>
        producerSettings.TryGetValue("message.max.bytes", out var text) &&
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes > 0
            ? bytes
            : null;

    /// <summary>What a record takes towards the limit: key, value and headers, plus <see cref="Overhead"/>.</summary>
    public static long SizeOf(Message<string, byte[]?> message)
    {
        ArgumentNullException.ThrowIfNull(message);
        long size = Overhead + System.Text.Encoding.UTF8.GetByteCount(message.Key ?? "") + (message.Value?.Length ?? 0);
        foreach (var header in message.Headers ?? [])
        {
            size += System.Text.Encoding.UTF8.GetByteCount(header.Key) + header.GetValueBytes().Length;
        }

        return size;
    }
}

internal static partial class MessageSizeLimitLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox records are limited to {Limit} bytes (topics' max.message.bytes: {Broker}; producer message.max.bytes: {Producer})")]
    public static partial void MessageLimit(this ILogger logger, int limit, int? broker, int? producer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the output topics' max.message.bytes ({Error}); assuming {Default} bytes")]
    public static partial void MessageLimitUnknown(this ILogger logger, string error, int @default);
}
