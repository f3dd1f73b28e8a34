using System.Diagnostics.Metrics;
using Confluent.Kafka;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Kafka.Hosting;
using IdentityGraph.Kafka.Ingestion;
using IdentityGraph.Kafka.Outbox;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace IdentityGraph.Kafka.Tests;

/// <summary>
/// An event the broker refuses for good (INVALID_RECORD, injected into the dev broker) is dead-lettered with
/// <c>event.refused</c>, and publishing goes on: real parts (dev broker, SQLite journal, actor system, the outbox's
/// idempotent producer). Observations go straight to the node's resolver, not through Kafka: the injected error is
/// cluster-wide, and the outbox must be the only producer when it is used.
/// </summary>
public sealed class OutboxRefusalTests(ITestOutputHelper output) : DevBrokerTestBase("identitygraph-refusal-", partitions: 3)
{
    [Fact]
    public async Task An_event_the_broker_refuses_for_good_is_dead_lettered_as_event_refused_and_later_events_are_published()
    {
        using var node = await TestNode.StartAsync(new KafkaOptions { BootstrapServers = Broker.BootstrapServers }, WorkDirectory);
        var resolver = node.Services.GetRequiredService<IdentityResolver>();
        var statistics = node.Services.GetRequiredService<OutboxStatistics>();
        using var metrics = new OutboxCounters(node.Services.GetRequiredService<IMeterFactory>());

        var before = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            before.Add((await resolver.ResolveAsync(TestNode.Observation($"before-{i}", $"before{i}@shop.example"))).ProfileId.ToString());
        }

        await TestNode.WaitUntilAsync(() => Keys(ReadAll(Topics.ProfileEvents)).IsSupersetOf(before));
        var publishedBefore = statistics.Published;

        // The next produce request fails with a permanent error: the outbox's records of the next event are in it.
        Broker.FailRequests(KafkaApi.Produce, ErrorCode.InvalidRecord, 1);
        var refused = (await resolver.ResolveAsync(TestNode.Observation("refused-1", "refused@shop.example"))).ProfileId.ToString();
        await TestNode.WaitUntilAsync(() => ReadAll(Topics.ProfileEventsDeadLetters).Count >= 1);

        // Afterwards: new profiles, and the refused profile changes again (version 2).
        var after = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            after.Add((await resolver.ResolveAsync(TestNode.Observation($"after-{i}", $"after{i}@shop.example"))).ProfileId.ToString());
        }

        var again = TestNode.Observation("refused-2", "refused@shop.example");
        again.Identifiers.Add(new Identifier { Type = IdentifierType.CustomerId, Value = "refused-customer" });
        Assert.Equal(refused, (await resolver.ResolveAsync(again)).ProfileId.ToString());
        await TestNode.WaitUntilAsync(() =>
        {
            var events = ReadAll(Topics.ProfileEvents);
            return Keys(events).IsSupersetOf(after) && events.Any(e => e.Message.Key == refused && Version(e) == 2);
        });

        var letters = ReadAll(Topics.ProfileEventsDeadLetters);
        Assert.NotEmpty(letters);
        output.WriteLine($"dead letters: {letters.Count}, for {string.Join(", ", letters.Select(l => TestNode.Headers(l)[OutboxDeadLetterHeaders.TargetTopic]))}");
        foreach (var letter in letters)
        {
            var headers = TestNode.Headers(letter);
            Assert.Equal(OutboxErrorCodes.Refused, headers[DeadLetterHeaders.ErrorCode]);
            Assert.Contains("InvalidRecord", headers[DeadLetterHeaders.ErrorMessage], StringComparison.Ordinal);
            Assert.Equal(refused, headers[OutboxDeadLetterHeaders.ProfileId]);
            Assert.Equal(refused, letter.Message.Key);
            Assert.Equal("1", headers[OutboxDeadLetterHeaders.Version]);
            Assert.Contains(headers[OutboxDeadLetterHeaders.TargetTopic], new[] { Topics.ProfileEvents, Topics.Profiles });
            // The value is the event without its snapshot: what changed and which version.
            var summary = ProfileEvent.Parser.ParseFrom(letter.Message.Value);
            Assert.Equal((refused, 1L), (summary.ProfileId, summary.Version));
            Assert.Null(summary.Profile);
        }

        // Per target topic, each refused record is either dead-lettered or published, never both and never lost.
        var changelog = ReadAll(Topics.ProfileEvents);
        var refusedToChangelog = letters.Any(l => TestNode.Headers(l)[OutboxDeadLetterHeaders.TargetTopic] == Topics.ProfileEvents);
        Assert.Equal(!refusedToChangelog, changelog.Any(e => e.Message.Key == refused && Version(e) == 1));

        // Every other event is on the changelog once per version; the outbox never failed or stalled.
        Assert.True(Keys(changelog).IsSupersetOf(before.Concat(after)));
        Assert.Equal(letters.Count, metrics.DeadLetters(OutboxErrorCodes.Refused));
        Assert.Equal(0, metrics.DeadLetters(OutboxErrorCodes.TooLarge));
        Assert.Equal(0, metrics.Failures());
        Assert.Null(statistics.FailingReason);
        Assert.True(statistics.Published >= publishedBefore + after.Count + 1);
        await node.StopAsync();
    }

    private static HashSet<string> Keys(IEnumerable<ConsumeResult<string, byte[]>> records) =>
        records.Select(r => r.Message.Key).ToHashSet(StringComparer.Ordinal);

    private static long Version(ConsumeResult<string, byte[]> record) => ProfileEvent.Parser.ParseFrom(record.Message.Value).Version;





    /// <summary>The outbox's exported counters of this node (its own meter factory), read as a metrics exporter reads them.</summary>
    private sealed class OutboxCounters : IDisposable
    {
        private readonly MeterListener listener = new();
        private readonly Dictionary<(string Name, string? Reason), long> values = [];

        public OutboxCounters(IMeterFactory scope)
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, scope) && instrument.Name.StartsWith("identitygraph.outbox.", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string? reason = null;
                foreach (var tag in tags)
                {
                    reason = tag.Key == "reason" ? tag.Value as string : reason;
                }

                values[(instrument.Name, reason)] = value;
            });
            listener.Start();
        }

        public long DeadLetters(string reason) => Read("identitygraph.outbox.dead_letters", reason);

        public long Failures() => Read("identitygraph.outbox.failures", null);

        private long Read(string name, string? reason)
        {
            listener.RecordObservableInstruments();
            Assert.True(values.TryGetValue((name, reason), out var value), $"{name} {reason} is not reported");
            return value;
        }

        public void Dispose() => listener.Dispose();
    }
}
