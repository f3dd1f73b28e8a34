using IdentityGraph.Contracts.V1;
using IdentityGraph.Kafka.Hosting;
using IdentityGraph.Kafka.Ingestion;
using IdentityGraph.Kafka.Outbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IdentityGraph.Kafka.Tests;

/// <summary>
/// The outbox against a message limit, with real parts (dev broker, SQLite journal, actor system): a profile that
/// grows past the limit goes to the outputs' dead-letter topic with its code, and every other profile keeps flowing.
/// </summary>
public sealed class OutboxLimitTests() : DevBrokerTestBase("identitygraph-outbox-", partitions: 3)
{
    private const int Limit = 8000;
    /// <param name="limitFrom">
    /// Where the limit comes from: the producer's <c>message.max.bytes</c>, or the topics' limit as configured
    /// (<c>Outbox:MaxMessageBytes</c>, for a broker that does not answer DescribeConfigs, as this one does not).
    /// </param>
    [Theory]
    [InlineData("producer")]
    [InlineData("configured topic limit")]
    public async Task An_event_above_the_message_limit_is_dead_lettered_with_its_code_and_later_events_of_other_profiles_arrive(string limitFrom)
    {
        var options = new KafkaOptions { BootstrapServers = Broker.BootstrapServers };
        if (limitFrom == "producer")
        {
            options.Outbox.Producer["message.max.bytes"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            options.Outbox.MaxMessageBytes = Limit;
        }

        using var node = await StartNodeAsync(options);

        var big = TestNode.Observation("big-1", "big@shop.example");
        for (var i = 0; i < 20; i++)
        {
            big.Attributes["note" + i] = new string('x', 900);
        }

        await ProduceAsync([big, .. Enumerable.Range(0, 20).Select(i => TestNode.Observation($"small-{i}", $"small{i}@shop.example"))]);
        // Input partitions are keyed by observation id: wait for the big profile's first dead letters so that the
        // second observation cannot create it first (small enough to publish).
        await TestNode.WaitUntilAsync(() => ReadAll(Topics.ProfileEventsDeadLetters).Count >= 2);
        // The oversized profile changes again (every snapshot of it is too large), then more small profiles follow.
        var again = TestNode.Observation("big-2", "big@shop.example");
        again.Identifiers.Add(new Identifier { Type = IdentifierType.CustomerId, Value = "big-customer" });
        await ProduceAsync([again, .. Enumerable.Range(20, 20).Select(i => TestNode.Observation($"small-{i}", $"small{i}@shop.example"))]);

        var statistics = node.Services.GetRequiredService<OutboxStatistics>();
        await TestNode.WaitUntilAsync(() => statistics.Published >= 40 && ReadAll(Topics.ProfileEventsDeadLetters).Count >= 4);

        var events = ReadAll(Topics.ProfileEvents);
        Assert.Equal(40, events.Select(e => e.Message.Key).Distinct().Count());
        Assert.All(events.Concat(ReadAll(Topics.Profiles)), r => Assert.True(r.Message.Value is null || r.Message.Value.Length < Limit));

        var letters = ReadAll(Topics.ProfileEventsDeadLetters).Select(TestNode.Headers).ToList();
        Assert.All(letters, h => Assert.Equal(OutboxErrorCodes.TooLarge, h[DeadLetterHeaders.ErrorCode]));
        var bigProfile = Assert.Single(letters.Select(h => h[OutboxDeadLetterHeaders.ProfileId]).Distinct());
        Assert.DoesNotContain(events, e => e.Message.Key == bigProfile);
        Assert.Equal(["1", "2"], letters.Select(h => h[OutboxDeadLetterHeaders.Version]).Distinct().Order());
        Assert.Equal(
            [Topics.ProfileEvents, Topics.Profiles],
            letters.Select(h => h[OutboxDeadLetterHeaders.TargetTopic]).Distinct().Order(StringComparer.Ordinal));
        Assert.Null(statistics.FailingReason);
        Assert.True(statistics.Checkpoint > 0);
        await node.StopAsync();
    }

    private Task<IHost> StartNodeAsync(KafkaOptions options) => TestNode.StartAsync(options, WorkDirectory);

    private Task ProduceAsync(IEnumerable<Observation> observations) => TestNode.ProduceAsync(Broker.BootstrapServers, observations);

}
