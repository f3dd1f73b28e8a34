using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Confluent.Kafka;
using Google.Protobuf;
using IdentityGraph.Cluster.Hosting;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Resolution;
using IdentityGraph.Kafka.Hosting;
using IdentityGraph.Kafka.Ingestion;
using IdentityGraph.Kafka.Outbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace IdentityGraph.Kafka.Tests;

/// <summary>
/// Ingestion and outbox in process, with real parts: the dev broker, a SQLite journal, the actor system and
/// Confluent.Kafka clients. Protobuf input (the kcat end-to-end tests in the server tests cover JSON).
/// </summary>
public sealed class KafkaNodeTests() : DevBrokerTestBase("identitygraph-node-", partitions: 3)
{
    [Fact]
    public async Task Protobuf_observations_are_resolved_and_published_and_a_restart_resumes_from_the_checkpoint()
    {
        var observations = Observations(seed: 5, count: 600, customers: 150);
        await ProduceAsync(observations);

        long publishedBeforeRestart;
        using (var node = await StartNodeAsync())
        {
            var view = await WaitForViewAsync(Reference(observations));
            Assert.Equal(Reference(observations), view);
            var statistics = node.Services.GetRequiredService<IngestionStatistics>();
            Assert.Equal(observations.Count, statistics.ResolvedTotal);
            Assert.Equal(0, statistics.DeadLettersTotal);
            publishedBeforeRestart = ReadAll(Topics.ProfileEvents).Count;
            Assert.Equal(publishedBeforeRestart, node.Services.GetRequiredService<OutboxStatistics>().Published);
            await node.StopAsync();
        }

        // Same database, same group: nothing is read or published again (offsets and the outbox checkpoint held).
        using (var node = await StartNodeAsync())
        {
            var more = Observations(seed: 6, count: 100, customers: 150);
            await ProduceAsync(more);
            var all = observations.Concat(more).ToList();
            Assert.Equal(Reference(all), await WaitForViewAsync(Reference(all)));
            Assert.Equal(more.Count, node.Services.GetRequiredService<IngestionStatistics>().Received);
            var outbox = node.Services.GetRequiredService<OutboxStatistics>();
            Assert.Equal(ReadAll(Topics.ProfileEvents).Count - publishedBeforeRestart, outbox.Published);
            await node.StopAsync();
        }
    }

    [Fact]
    public async Task A_rebalance_mid_stream_loses_nothing_and_the_partitions_come_back()
    {
        var observations = Observations(seed: 8, count: 600, customers: 200);
        await ProduceAsync(observations);
        // The mock cluster completes a join only after about a session time-out: keep it short on both members.
        using var node = await StartNodeAsync(maxInFlight: 4, consumer: FastRebalance);
        var statistics = node.Services.GetRequiredService<IngestionStatistics>();
        await TestNode.WaitUntilAsync(() => statistics.ResolvedTotal >= 50);

        // Another member joins the group: cooperative-sticky moves some partitions to it, so the node revokes them,
        // drains and commits. The intruder reads but never commits, then leaves, and the node takes the partitions back
        // from the committed offsets. Nothing may be lost or stuck across the two rebalances. (Which offset may be
        // committed while work is in flight is tested in OffsetTrackerTests.)
        var intruderGot = new List<TopicPartition>();
        using (var intruder = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            GroupId = new KafkaOptions().Ingestion.GroupId,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = int.Parse(FastRebalance["session.timeout.ms"], System.Globalization.CultureInfo.InvariantCulture),
            HeartbeatIntervalMs = int.Parse(FastRebalance["heartbeat.interval.ms"], System.Globalization.CultureInfo.InvariantCulture),
        }).SetPartitionsAssignedHandler((_, assigned) => intruderGot.AddRange(assigned)).Build())
        {
            intruder.Subscribe(Topics.Observations);
            // Two cooperative rounds (revoke, then assign) at the default 3 s heartbeat take a few seconds.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(40);
            while (DateTime.UtcNow < until && intruderGot.Count == 0)
            {
                intruder.Consume(TimeSpan.FromMilliseconds(100));
            }

            for (var i = 0; i < 10; i++)
            {
                intruder.Consume(TimeSpan.FromMilliseconds(100));
            }

            intruder.Close();
        }

        Assert.NotEmpty(intruderGot);
        Assert.Equal(Reference(observations), await WaitForViewAsync(Reference(observations)));
        await node.StopAsync();
    }

    [Fact]
    public async Task An_observation_that_always_fails_is_dead_lettered_after_its_attempts_and_its_partition_keeps_committing()
    {
        // A real poison: an identifier owned by a profile that was erased. Every observation with it is refused by the
        // profile (profile.erased) on every attempt, while everything else resolves.
        var storage = TestNode.Storage(WorkDirectory);
        var poisoned = new Observation { ObservationId = "poison-1", Source = "test", Channel = Channel.Web, ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)) };
        poisoned.Identifiers.Add(new Identifier { Type = IdentifierType.Email, Value = "erased@shop.example" });
        ResolveResult first;
        using (var graph = await TestNode.StartGraphAsync(WorkDirectory))
        {
            first = await graph.Services.GetRequiredService<IdentityResolver>().ResolveAsync(poisoned);
            await graph.StopAsync();
        }

        await AppendErasedAsync(storage, first.ProfileId.ToString());

        var good = Observations(seed: 9, count: 60, customers: 30);
        var again = poisoned.Clone();
        again.ObservationId = "poison-2";
        again.Identifiers.Add(new Identifier { Type = IdentifierType.Email, Value = "other@shop.example" });
        var stream = good.Take(30).Append(again).Concat(good.Skip(30)).ToList();
        await ProduceAsync(stream);

        using var node = await StartNodeAsync(configure: o => o.Ingestion.MaxAttempts = 3);
        var statistics = node.Services.GetRequiredService<IngestionStatistics>();
        await TestNode.WaitUntilAsync(() => statistics.DeadLettersTotal >= 1 && statistics.ResolvedTotal >= good.Count);

        var letter = Assert.Single(ReadAll(Topics.DeadLetters));
        Assert.Equal(ResolveErrorCodes.ResolveFailed, Header(letter, "identitygraph.error.code"));
        Assert.Contains("profile.erased", Header(letter, "identitygraph.error.message"), StringComparison.Ordinal);
        Assert.Equal("poison-2", Observation.Parser.ParseFrom(letter.Message.Value).ObservationId);
        Assert.Equal(good.Count, statistics.ResolvedTotal);

        // Every record is done, the poison included: the group's commits reach the end of every partition.
        await TestNode.WaitUntilAsync(() => CommittedTotal() == stream.Count);
        await node.StopAsync();
    }

    private long CommittedTotal()
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            GroupId = new KafkaOptions().Ingestion.GroupId,
        }).Build();
        return consumer.Committed(Enumerable.Range(0, 3).Select(p => new TopicPartition(Topics.Observations, p)), TimeSpan.FromSeconds(10))
            .Sum(c => c.Offset.Value > 0 ? c.Offset.Value : 0);
    }

    private static string Header(ConsumeResult<string, byte[]> record, string name) =>
        System.Text.Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes(name));

    /// <summary>
    /// Appends the profile's erasure to its profile slice's journal, through the real plugin and serializer: a slice
    /// event (manifest "sc") whose one change is the published ProfileErased and its domain event.
    /// </summary>
    private static async Task AppendErasedAsync(StorageSettings storage, string profileId)
    {
        var config = ConfigurationFactory.ParseString(GraphSerializer.Hocon).WithFallback(PersistenceHocon.ToConfig(storage));
        using var system = ActorSystem.Create("writer", config);
        var slices = Core.Index.IndexSlices.DefaultSliceCount;
        var slice = Core.Profiles.ProfileSlices.SliceOf(Core.Profiles.ProfileId.Parse(profileId), slices);
        var published = new ProfileEvent { ProfileId = profileId, Version = 2, ObservationId = "test", Erased = new ProfileErased() };
        // ProfileErasedEvent { request_id = "test", occurred_at = { seconds = 1 } }
        var erasedEvent = Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteString("test");
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(0x08, 0x01));
        });
        // ProfileChangeData { profile_id, published, erased = 8 }, inside ProfileSliceChangedEvent { changes }
        var change = Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteString(profileId);
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteMessage(published);
            o.WriteTag(8, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(erasedEvent));
        });
        var sliceEvent = Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(change));
        });
        var erased = system.Serialization.Deserialize(sliceEvent, GraphSerializer.SerializerId, "sc");
        var writer = system.ActorOf(Props.Create(() => new JournalWriter($"profiles-{slices}-{slice}", erased)));
        Assert.Equal("written", await writer.Ask<string>("write", TimeSpan.FromSeconds(30)));
        await system.Terminate();

        static byte[] Message(Action<CodedOutputStream> write)
        {
            using var buffer = new MemoryStream();
            var output = new CodedOutputStream(buffer);
            write(output);
            output.Flush();
            return buffer.ToArray();
        }
    }

    private sealed class JournalWriter : ReceivePersistentActor
    {
        public JournalWriter(string persistenceId, object domainEvent)
        {
            PersistenceId = persistenceId;
            Command<string>(_ => Persist(domainEvent, _ => Sender.Tell("written")));
        }

        public override string PersistenceId { get; }
    }


    private static readonly Dictionary<string, string> FastRebalance = new() { ["session.timeout.ms"] = "6000", ["heartbeat.interval.ms"] = "500" };

    private Task<IHost> StartNodeAsync(int maxInFlight = 512, Dictionary<string, string>? consumer = null, Action<KafkaOptions>? configure = null)
    {
        var options = new KafkaOptions { BootstrapServers = Broker.BootstrapServers, Ingestion = { MaxInFlight = maxInFlight, Consumer = consumer ?? [] } };
        configure?.Invoke(options);
        return TestNode.StartAsync(options, WorkDirectory);
    }

    private Task ProduceAsync(IEnumerable<Observation> observations) => TestNode.ProduceAsync(Broker.BootstrapServers, observations);


    private async Task<List<string>> WaitForViewAsync(List<string> expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            var latest = new Dictionary<string, ProfileEvent>(StringComparer.Ordinal);
            foreach (var record in await Task.Run(() => ReadAll(Topics.ProfileEvents)))
            {
                var change = ProfileEvent.Parser.ParseFrom(record.Message.Value);
                if (!latest.TryGetValue(change.ProfileId, out var seen) || seen.Version < change.Version)
                {
                    latest[change.ProfileId] = change;
                }
            }

            var view = Canonical(latest.Values.Where(e => e.Profile is not null)
                .Select(e => e.Profile.Identifiers.Select(i => $"{i.Type}|{i.Namespace}|{i.Value}")));
            if (view.SequenceEqual(expected) || DateTime.UtcNow > deadline)
            {
                return view;
            }

            await Task.Delay(500);
        }
    }

    private static List<string> Reference(IEnumerable<Observation> observations)
    {
        var reference = new ReferenceResolver();
        var names = new Dictionary<IdentifierKey, string>();
        foreach (var observation in observations)
        {
            var normalized = TestNode.Normalizer.Normalize(observation).Observation!;
            reference.Add(normalized);
            foreach (var identifier in normalized.Identifiers)
            {
                names[identifier.Key] = $"{identifier.Identifier.Type}|{identifier.Identifier.Namespace}|{identifier.Identifier.Value}";
            }
        }

        return Canonical(reference.Partition().Select(group => group.Select(k => names[k])));
    }

    private static List<string> Canonical(IEnumerable<IEnumerable<string>> groups) =>
        [.. groups.Select(g => string.Join(" ", g.Order(StringComparer.Ordinal))).Order(StringComparer.Ordinal)];

    /// <summary>Customers with an e-mail, a phone and a card, seen through random subsets; some observations link two customers.</summary>
    private static List<Observation> Observations(int seed, int count, int customers)
    {
        var random = new Random(seed);
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var list = new List<Observation>();
        for (var i = 0; i < count; i++)
        {
            var customer = random.Next(customers);
            var observation = new Observation
            {
                ObservationId = $"s{seed}-{i}",
                Source = "test",
                Channel = Channel.Web,
                ObservedAt = Timestamp.FromDateTimeOffset(start.AddMinutes(i)),
            };
            foreach (var kind in Enumerable.Range(0, 3).Where(_ => random.NextDouble() < 0.6).DefaultIfEmpty(0))
            {
                observation.Identifiers.Add(Identifier(kind, customer));
            }

            if (random.NextDouble() < 0.05)
            {
                observation.Identifiers.Add(Identifier(random.Next(3), (customer + 1) % customers));
            }

            list.Add(observation);
        }

        return list;
    }

    private static Identifier Identifier(int kind, int customer) => kind switch
    {
        0 => new Identifier { Type = IdentifierType.Email, Value = $"customer{customer}@shop.example" },
        1 => new Identifier { Type = IdentifierType.Phone, Value = $"+45 2{customer:D7}" },
        _ => new Identifier { Type = IdentifierType.MembershipCard, Value = $"CARD-{customer}", Namespace = "club" },
    };
}
