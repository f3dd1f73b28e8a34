using System.Globalization;
using System.Text.Json;

namespace IdentityGraph.Kafka.Ingestion;

/// <summary>
/// What the ingestion reads from librdkafka's statistics JSON (emitted every <c>statistics.interval.ms</c>): the lag of
/// each assigned partition and how many brokers the consumer is connected to.
/// </summary>
/// <param name="Lag">
/// Per assigned partition: high watermark minus the offset we stored, i.e. records not yet durable in the graph
/// (<c>consumer_lag_stored</c>; <c>consumer_lag</c>, against the committed offset, where the former is missing).
/// </param>
/// <param name="BrokersUp">Brokers (not logical ones such as the group coordinator) in state UP.</param>
/// <param name="TopicPartitions">Partitions per subscribed topic, from the consumer's metadata.</param>
internal sealed record ConsumerStatistics(
    IReadOnlyDictionary<(string Topic, int Partition), long> Lag, int BrokersUp, IReadOnlyDictionary<string, int> TopicPartitions)
{
    /// <summary>Parses the statistics; null when the JSON is not what librdkafka emits.</summary>
    public static ConsumerStatistics? Parse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var brokersUp = 0;
            if (root.TryGetProperty("brokers", out var brokers) && brokers.ValueKind == JsonValueKind.Object)
            {
                foreach (var broker in brokers.EnumerateObject())
                {
                    if (broker.Value.TryGetProperty("nodeid", out var node) && node.TryGetInt32(out var id) && id >= 0 &&
                        broker.Value.TryGetProperty("state", out var state) && state.ValueEquals("UP"))
                    {
                        brokersUp++;
                    }
                }
            }

            var lag = new Dictionary<(string, int), long>();
            var partitionCounts = new Dictionary<string, int>(StringComparer.Ordinal);
            if (root.TryGetProperty("topics", out var topics) && topics.ValueKind == JsonValueKind.Object)
            {
                foreach (var topic in topics.EnumerateObject())
                {
                    if (!topic.Value.TryGetProperty("partitions", out var partitions) || partitions.ValueKind != JsonValueKind.Object)
                    {
                        continue;
                    }

                    partitionCounts[topic.Name] = partitions.EnumerateObject().Count(p =>
                        int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out _) &&
                        !(p.Value.TryGetProperty("unknown", out var unknown) && unknown.ValueKind == JsonValueKind.True));
                    foreach (var partition in partitions.EnumerateObject())
                    {
                        // "-1" is librdkafka's internal unassigned partition; "none" is a partition we do not fetch.
                        if (!int.TryParse(partition.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ||
                            (partition.Value.TryGetProperty("fetch_state", out var fetch) && fetch.ValueEquals("none")))
                        {
                            continue;
                        }

                        var value = partition.Value.TryGetProperty("consumer_lag_stored", out var stored) ? stored
                            : partition.Value.TryGetProperty("consumer_lag", out var committed) ? committed
                            : default;
                        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var records) && records >= 0)
                        {
                            lag[(topic.Name, number)] = records;
                        }
                        else if (Offset(partition.Value, "hi_offset") is { } high && Offset(partition.Value, "lo_offset") is { } low)
                        {
                            // No offset stored or committed yet (a partition never read by this group): all of it is to read.
                            lag[(topic.Name, number)] = high - (Offset(partition.Value, "committed_offset") ?? low);
                        }
                    }
                }
            }

            return new ConsumerStatistics(lag, brokersUp, partitionCounts);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static long? Offset(JsonElement partition, string name) =>
        partition.TryGetProperty(name, out var value) && value.TryGetInt64(out var offset) && offset >= 0 ? offset : null;
}
