using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Confluent.Kafka;

namespace IdentityGraph.Kafka.Tests;

/// <summary>The dev broker, driven by real Confluent.Kafka clients over TCP.</summary>
public sealed class DevBrokerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_record_produced_to_a_default_topic_is_consumed_back()
    {
        await using var broker = DevBroker.Start(new DevBrokerOptions { Port = 0, Partitions = 3 });

        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            EnableIdempotence = true,
        }).Build();
        var sent = await producer.ProduceAsync(Topics.Observations, new Message<string, string>
        {
            Key = "obs-1",
            Value = """{"observationId":"obs-1"}""",
            Headers = [new Header("content-type", Encoding.UTF8.GetBytes("application/json"))],
        });
        Assert.Equal(PersistenceStatus.Persisted, sent.Status);

        using var consumer = Consumer(broker, "round-trip");
        consumer.Subscribe(Topics.Observations);
        var received = ConsumeOne(consumer);

        Assert.Equal("obs-1", received.Message.Key);
        Assert.Equal("""{"observationId":"obs-1"}""", received.Message.Value);
        Assert.Equal("application/json", Encoding.UTF8.GetString(received.Message.Headers.GetLastBytes("content-type")));
        Assert.Equal(sent.TopicPartitionOffset, received.TopicPartitionOffset);
    }

    [Fact]
    public async Task The_default_topics_exist_with_the_requested_partitions_and_more_can_be_created()
    {
        await using var broker = DevBroker.Start(new DevBrokerOptions { Port = 0, Partitions = 5 });
        broker.CreateTopic("identity.extra", 2);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(Patience);

        foreach (var name in Topics.All)
        {
            var topic = Assert.Single(metadata.Topics, t => t.Topic == name);
            Assert.Equal(5, topic.Partitions.Count);
        }

        Assert.Equal(2, Assert.Single(metadata.Topics, t => t.Topic == "identity.extra").Partitions.Count);
        var duplicate = Assert.Throws<KafkaException>(() => broker.CreateTopic(Topics.Profiles, 1));
        Assert.Equal(ErrorCode.TopicAlreadyExists, duplicate.Error.Code);
    }

    [Fact]
    public async Task Two_brokers_listen_on_consecutive_fixed_ports_and_both_serve_clients()
    {
        await using var broker = StartOnFreeConsecutivePorts(brokers: 2, partitions: 4, out var port);

        Assert.Equal($"127.0.0.1:{port},127.0.0.1:{port + 1}", broker.BootstrapServers);
        Assert.Equal([port, port + 1], broker.Ports);

        // Each broker alone is a working bootstrap server, and both advertise the fixed ports.
        foreach (var single in broker.Ports)
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = $"127.0.0.1:{single}" }).Build();
            var metadata = admin.GetMetadata(Topics.Observations, Patience);
            Assert.Equal(
                [(1, "127.0.0.1", port), (2, "127.0.0.1", port + 1)],
                metadata.Brokers.Select(b => (b.BrokerId, b.Host, b.Port)).OrderBy(b => b.BrokerId));

            // Partition leaders are spread over both brokers, so producing to every partition uses both.
            Assert.Equal([1, 2], metadata.Topics.Single().Partitions.Select(p => p.Leader).Distinct().Order());
        }

        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        for (var partition = 0; partition < 4; partition++)
        {
            var result = await producer.ProduceAsync(
                new TopicPartition(Topics.ProfileEvents, partition), new Message<Null, string> { Value = $"p{partition}" });
            Assert.Equal(PersistenceStatus.Persisted, result.Status);
        }
    }

    /// <summary>
    /// The one timing assertion here, because the feature is about time: without the zero initial rebalance delay the
    /// mock holds a new group's first join for 3 s.
    /// </summary>
    [Fact]
    public async Task A_consumer_joins_a_new_group_without_the_initial_rebalance_delay()
    {
        await using var broker = DevBroker.Start(new DevBrokerOptions { Port = 0, Partitions = 2 });
        var assigned = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        using var consumer = new ConsumerBuilder<Ignore, string>(ConsumerSettings(broker, "join"))
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                if (partitions.Count > 0)
                {
                    assigned.TrySetResult(clock.Elapsed);
                }
            })
            .Build();
        consumer.Subscribe(Topics.Observations);
        while (!assigned.Task.IsCompleted && clock.Elapsed < Patience)
        {
            consumer.Consume(TimeSpan.FromMilliseconds(50));
        }

        Assert.True(assigned.Task.IsCompleted, "The consumer was never assigned partitions.");
        var joinedAfter = await assigned.Task;
        Assert.True(joinedAfter < TimeSpan.FromSeconds(2.5), $"Joining took {joinedAfter.TotalMilliseconds:F0} ms.");
        consumer.Close();
    }

    [Fact]
    public async Task Injected_produce_errors_fail_produce_requests_until_used_up_or_cleared()
    {
        await using var broker = DevBroker.Start(new DevBrokerOptions { Port = 0, Partitions = 2 });
        // No retries, so every request shows its answer as a delivery error; an idempotent producer would retry.
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            MessageSendMaxRetries = 0,
        }).Build();
        var message = new Message<Null, string> { Value = "v" };
        var partition = new TopicPartition(Topics.ProfileEvents, 0);
        Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync(partition, message)).Status);

        // A permanent error, once: one request fails with it, the next one succeeds.
        broker.FailRequests(KafkaApi.Produce, ErrorCode.InvalidRecord, 1);
        var refused = await Assert.ThrowsAsync<ProduceException<Null, string>>(() => producer.ProduceAsync(partition, message));
        Assert.Equal(ErrorCode.InvalidRecord, refused.Error.Code);
        Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync(partition, message)).Status);

        // A retriable error, many times: every request fails with it until the errors are cleared.
        broker.FailRequests(KafkaApi.Produce, ErrorCode.NotEnoughReplicas, 1000);
        for (var i = 0; i < 3; i++)
        {
            var failed = await Assert.ThrowsAsync<ProduceException<Null, string>>(() => producer.ProduceAsync(partition, message));
            Assert.Equal(ErrorCode.NotEnoughReplicas, failed.Error.Code);
        }

        // Only Produce is affected: metadata and fetches still work meanwhile.
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            Assert.Equal(2, admin.GetMetadata(Topics.ProfileEvents, Patience).Topics.Single().Partitions.Count);
        }

        broker.ClearRequestErrors(KafkaApi.Produce);
        var delivered = await producer.ProduceAsync(partition, message);
        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
        Assert.Equal(2, delivered.Offset.Value);

        Assert.Throws<ArgumentOutOfRangeException>(() => broker.FailRequests(KafkaApi.Produce, ErrorCode.NoError, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => broker.FailRequests(KafkaApi.Produce, ErrorCode.Local_MsgTimedOut, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => broker.FailRequests(KafkaApi.Produce, ErrorCode.InvalidRecord, 0));
    }

    [Fact]
    public void A_taken_port_is_a_clear_error()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;

        var error = Assert.Throws<DevBrokerPortInUseException>(() => DevBroker.Start(new DevBrokerOptions { Port = port }));

        Assert.Equal(port, error.Port);
        Assert.Contains($"127.0.0.1:{port} is already in use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_taken_second_port_frees_the_first()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var squatter = new TcpListener(IPAddress.Loopback, 0);
            squatter.Start();
            var second = ((IPEndPoint)squatter.LocalEndpoint).Port;

            var error = Assert.Throws<DevBrokerPortInUseException>(
                () => DevBroker.Start(new DevBrokerOptions { Port = second - 1, Brokers = 2 }));
            if (error.Port == second - 1 && attempt < 20)
            {
                continue; // Someone else holds the first port: not the case under test.
            }

            Assert.Equal(second, error.Port);

            // Broker 1's port was bound before broker 2's failed; it must be free again.
            using var probe = new TcpListener(IPAddress.Loopback, second - 1);
            probe.Start();
            return;
        }
    }

    [Fact]
    public async Task Dispose_closes_connections_and_frees_the_ports()
    {
        await using var broker = StartOnFreeConsecutivePorts(brokers: 2, partitions: 2, out var port);
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            await producer.ProduceAsync(Topics.Observations, new Message<Null, string> { Value = "x" });

            // Dispose with the producer still connected: its connections are cut, not waited for.
            await broker.DisposeAsync();
        }

        // Restarting on the same fixed ports is what a developer does; it needs the ports back at once.
        await using var again = DevBroker.Start(new DevBrokerOptions { Port = port, Brokers = 2, Partitions = 2 });
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = again.BootstrapServers }).Build();
        Assert.Equal(2, admin.GetMetadata(Patience).Brokers.Count);
        Assert.Throws<ObjectDisposedException>(() => broker.CreateTopic("late", 1));
    }

    [Theory]
    [InlineData(-1, 1, 1)]
    [InlineData(65_536, 1, 1)]
    [InlineData(65_535, 2, 1)]
    [InlineData(0, 0, 1)]
    [InlineData(0, 10, 1)]
    [InlineData(0, 1, 0)]
    [InlineData(0, 1, 1001)]
    public void Options_out_of_range_are_refused(int port, int brokers, int partitions) =>
        Assert.Throws<ArgumentOutOfRangeException>(
            () => DevBroker.Start(new DevBrokerOptions { Port = port, Brokers = brokers, Partitions = partitions }));

    private static ConsumerConfig ConsumerSettings(DevBroker broker, string group) => new()
    {
        BootstrapServers = broker.BootstrapServers,
        GroupId = group,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
    };

    private static IConsumer<string, string> Consumer(DevBroker broker, string group) =>
        new ConsumerBuilder<string, string>(ConsumerSettings(broker, group)).Build();

    private static ConsumeResult<string, string> ConsumeOne(IConsumer<string, string> consumer)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result)
            {
                return result;
            }
        }

        throw new TimeoutException($"Nothing consumed within {Patience.TotalSeconds} s.");
    }

    /// <summary>
    /// Starts a broker on fixed ports that were free a moment ago. Another process may take them in between, so a
    /// taken port means: try other ones.
    /// </summary>
    private static DevBroker StartOnFreeConsecutivePorts(int brokers, int partitions, out int port)
    {
        for (var attempt = 0; ; attempt++)
        {
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            if (port + brokers - 1 > IPEndPoint.MaxPort)
            {
                continue;
            }

            try
            {
                return DevBroker.Start(new DevBrokerOptions { Port = port, Brokers = brokers, Partitions = partitions });
            }
            catch (DevBrokerPortInUseException) when (attempt < 20)
            {
            }
        }
    }
}
