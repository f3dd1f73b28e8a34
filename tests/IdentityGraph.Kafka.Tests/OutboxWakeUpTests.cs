using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Kafka.Hosting;
using IdentityGraph.Kafka.Outbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IdentityGraph.Kafka.Tests;

/// <summary>
/// What triggers publishing, with real parts (dev broker, SQLite journal, actor systems): a write on the node that runs
/// the outbox wakes it at once (the profile slice's persist callback raises the node's <c>ProfileChangeSignal</c>);
/// what no signal announced — events written before the outbox started, or by another node — is published by the
/// catch-up read from the checkpoint. Either way the journal event carries each profile's whole state.
/// </summary>
public sealed class OutboxWakeUpTests() : DevBrokerTestBase("identitygraph-wakeup-", partitions: 3)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_write_is_published_at_once_although_the_catch_up_is_an_hour_away()
    {
        using var node = await TestNode.StartAsync(Options(catchUp: TimeSpan.FromHours(1)), WorkDirectory);

        // The first may still meet the read the outbox makes when it starts; every read after that one was woken by a
        // signal (reads run one after another, and the catch-up is an hour away).
        await ProduceAsync(TestNode.Observation("wake-1", "first@shop.example"));
        await WaitForPublishedAsync("first@shop.example", "the first write");

        await ProduceAsync(TestNode.Observation("wake-2", "second@shop.example"));
        await WaitForPublishedAsync("second@shop.example", "a write after the outbox's first read (not woken by the write?)");

        // A change to an existing profile wakes it too (version 2 of the first profile).
        var linked = TestNode.Observation("wake-3", "first@shop.example");
        linked.Identifiers.Add(new Identifier { Type = IdentifierType.CustomerId, Value = "c-1", Namespace = "shop" });
        await ProduceAsync(linked);
        await WaitForPublishedAsync("c-1", "a change to an existing profile");

        // Version 2 is the whole profile, as its slice's event wrote it.
        var second = Assert.Single(Published(), e => e.Version == 2);
        Assert.Equal(["c-1", "first@shop.example"], second.Profile.Identifiers.Select(i => i.Value).Order(StringComparer.Ordinal));
        await node.StopAsync();
    }

    [Fact]
    public async Task Events_no_signal_announced_are_published_by_the_catch_up_from_the_checkpoint()
    {
        // Written before the outbox ever ran: the read from the checkpoint at its start publishes them.
        using (var before = await TestNode.StartGraphAsync(WorkDirectory))
        {
            await ResolveAsync(before, TestNode.Observation("before-1", "before1@shop.example"), TestNode.Observation("before-2", "before2@shop.example"));
            await before.StopAsync();
        }

        var options = Options(catchUp: TimeSpan.FromSeconds(1));
        using var node = await TestNode.StartAsync(options, WorkDirectory);
        await WaitForPublishedAsync("before1@shop.example", "an event written before the outbox started");
        await WaitForPublishedAsync("before2@shop.example", "an event written before the outbox started");

        // Written while the outbox runs, by another actor system on the same journal (as another node would): its
        // persist callbacks raise its own signal, never this node's. Only the catch-up can find these.
        using (var other = await TestNode.StartGraphAsync(WorkDirectory))
        {
            await ResolveAsync(other, TestNode.Observation("other-1", "other1@shop.example"), TestNode.Observation("other-2", "other2@shop.example"));
            await WaitForPublishedAsync("other1@shop.example", "an event written on another node");
            await WaitForPublishedAsync("other2@shop.example", "an event written on another node");
            var linked = TestNode.Observation("other-3", "before1@shop.example");
            linked.Identifiers.Add(new Identifier { Type = IdentifierType.CustomerId, Value = "c-9", Namespace = "shop" });
            await ResolveAsync(other, linked);
            await WaitForPublishedAsync("c-9", "a change written on another node");
            await other.StopAsync();
        }

        // Each profile once, at version 1, and the change at version 2: the catch-up neither skips nor repeats (nothing
        // failed in between). Version 2 is the whole profile, as the other node's slice wrote it.
        var published = Published();
        Assert.Equal(5, published.Count);
        Assert.Equal(4, published.Count(e => e.Version == 1));
        var second = Assert.Single(published, e => e.Version == 2);
        Assert.Equal(["before1@shop.example", "c-9"], second.Profile.Identifiers.Select(i => i.Value).Order(StringComparer.Ordinal));
        await node.StopAsync();
    }

    /// <summary>
    /// The checkpoint is saved at most every CheckpointInterval, and always when the outbox stops: a graceful restart
    /// publishes nothing twice although the interval never passed.
    /// </summary>
    [Fact]
    public async Task A_stopping_outbox_saves_its_checkpoint_whatever_its_interval()
    {
        var options = Options(catchUp: TimeSpan.FromSeconds(1));
        options.Outbox.CheckpointInterval = TimeSpan.FromHours(1);
        using (var node = await TestNode.StartAsync(options, WorkDirectory))
        {
            await ProduceAsync(TestNode.Observation("cp-1", "cp1@shop.example"), TestNode.Observation("cp-2", "cp2@shop.example"));
            await WaitForPublishedAsync("cp1@shop.example", "an event before the restart");
            await WaitForPublishedAsync("cp2@shop.example", "an event before the restart");
            await node.StopAsync();
        }

        using (var node = await TestNode.StartAsync(options, WorkDirectory))
        {
            await ProduceAsync(TestNode.Observation("cp-3", "cp3@shop.example"));
            await WaitForPublishedAsync("cp3@shop.example", "an event after the restart");
            await node.StopAsync();
        }

        Assert.Equal(3, Published().Count);
    }

    private KafkaOptions Options(TimeSpan catchUp) => new()
    {
        BootstrapServers = Broker.BootstrapServers,
        Outbox = { CatchUpInterval = catchUp },
    };

    private Task ProduceAsync(params Observation[] observations) => TestNode.ProduceAsync(Broker.BootstrapServers, observations);

    private static async Task ResolveAsync(IHost graph, params Observation[] observations)
    {
        var resolver = graph.Services.GetRequiredService<IdentityResolver>();
        foreach (var observation in observations)
        {
            await resolver.ResolveAsync(observation);
        }
    }

    private List<ProfileEvent> Published() =>
        [.. ReadAll(Topics.ProfileEvents).Select(r => ProfileEvent.Parser.ParseFrom(r.Message.Value))];

    private Task WaitForPublishedAsync(string identifierValue, string what) =>
        TestNode.WaitUntilAsync(
            () => Published().Any(e => e.Profile?.Identifiers.Any(i => i.Value == identifierValue) == true),
            Limit,
            $"{what} was not published within {Limit.TotalSeconds:0} s");
}
