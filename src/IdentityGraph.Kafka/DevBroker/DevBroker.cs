using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

// Namespace IdentityGraph.Kafka rather than .DevBroker: a namespace named like its main type would make `DevBroker`
// ambiguous everywhere inside IdentityGraph.Kafka.*.
namespace IdentityGraph.Kafka;

/// <summary>
/// A Kafka-protocol broker for development and tests: librdkafka's mock cluster, hosted in this process, reachable on
/// fixed 127.0.0.1 ports (broker i on <c>port + i - 1</c>), with the default topics (<see cref="Topics.All"/>) created.
/// Any Kafka client can produce, fetch and join consumer groups (classic and KIP-848), idempotent producers included.
/// </summary>
/// <remarks>
/// Limits: everything is in memory and lost on dispose; only about 5 MiB per partition is kept (older records are
/// dropped); no transactions (read_committed is ignored, transactional offsets are dropped); no CreateTopics request
/// (use <see cref="CreateTopic"/>); listens on 127.0.0.1 only. Production runs against a real Kafka cluster.
/// </remarks>
public sealed class DevBroker : IAsyncDisposable
{
    /// <summary>
    /// The record size the outbox may produce here: the mock cluster does not answer DescribeConfigs, so this is what
    /// the outbox assumed after waiting for it in vain (Kafka's default topic limit less batch overhead).
    /// </summary>
    public const int MaxMessageBytes = Outbox.MessageSizeLimit.Default;

    private const string Host = "127.0.0.1";

    private readonly Lock gate = new();
    private readonly IReadOnlyList<TcpForwarder> forwarders;
    private readonly int replicationFactor;
    private IntPtr handle;
    private IntPtr cluster;

    private DevBroker(IReadOnlyList<TcpForwarder> forwarders, IntPtr handle, IntPtr cluster)
    {
        this.forwarders = forwarders;
        this.handle = handle;
        this.cluster = cluster;
        replicationFactor = Math.Min(forwarders.Count, 3);
        Ports = [.. forwarders.Select(f => f.Port)];
        BootstrapServers = string.Join(',', Ports.Select(p => string.Create(CultureInfo.InvariantCulture, $"{Host}:{p}")));
    }

    /// <summary>The client setting <c>bootstrap.servers</c>: "127.0.0.1:PORT[,127.0.0.1:PORT+1...]".</summary>
    public string BootstrapServers { get; }

    /// <summary>The port of each broker, in broker id order (id 1 first).</summary>
    public IReadOnlyList<int> Ports { get; }

    /// <summary>
    /// Starts the brokers and creates the default topics. Throws <see cref="DevBrokerPortInUseException"/> when a
    /// fixed port is taken, and <see cref="ArgumentOutOfRangeException"/> for options out of range.
    /// </summary>
    public static DevBroker Start(DevBrokerOptions? options = null)
    {
        options ??= new DevBrokerOptions();
        options.Validate();

        // Bind the fixed ports before starting anything, so that a taken port is a quick, clear error.
        var forwarders = new List<TcpForwarder>(options.Brokers);
        DevBroker? broker = null;
        try
        {
            for (var i = 0; i < options.Brokers; i++)
            {
                var port = options.Port == 0 ? 0 : options.Port + i;
                try
                {
                    forwarders.Add(TcpForwarder.Bind(port));
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
                {
                    throw new DevBrokerPortInUseException(port, e);
                }
            }

            MockClusterNative.EnsureLoaded();
            var (handle, cluster) = CreateCluster(options.Brokers);
            broker = new DevBroker(forwarders, handle, cluster);
            broker.Wire();
            foreach (var topic in Topics.All)
            {
                broker.CreateTopic(topic, options.Partitions);
            }

            return broker;
        }
        catch
        {
            if (broker is not null)
            {
                broker.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            else
            {
                foreach (var forwarder in forwarders)
                {
                    forwarder.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }

            throw;
        }
    }

    /// <summary>
    /// Creates a topic with <paramref name="partitions"/> partitions. Throws <see cref="KafkaException"/> with the
    /// broker's error code, e.g. <see cref="ErrorCode.TopicAlreadyExists"/>.
    /// </summary>
    public void CreateTopic(string name, int partitions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partitions, DevBrokerOptions.MaxPartitions);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(cluster == IntPtr.Zero, this);
            var error = (ErrorCode)MockClusterNative.rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor);
            if (error != ErrorCode.NoError)
            {
                throw new KafkaException(new Error(error, $"Creating topic {name} on the dev broker failed: {error}"));
            }

            // The mock picks each partition's leader at random; round-robin spreads the load over every broker, always.
            for (var partition = 0; forwarders.Count > 1 && partition < partitions; partition++)
            {
                error = (ErrorCode)MockClusterNative.rd_kafka_mock_partition_set_leader(
                    cluster, name, partition, (partition % forwarders.Count) + 1);
                if (error != ErrorCode.NoError)
                {
                    throw new KafkaException(new Error(error, $"Placing partition {partition} of {name} on the dev broker failed: {error}"));
                }
            }
        }
    }

    /// <summary>
    /// Fault injection for tests: the next <paramref name="count"/> requests of type <paramref name="api"/> fail with
    /// <paramref name="error"/>, whichever client sends them and whichever broker they reach (the errors are
    /// cluster-wide: a Produce error hits every producer, ours and the test's). Each request takes one error off the
    /// stack; for Produce, every partition in that request gets the error. Calls add up; <see cref="ClearRequestErrors"/>
    /// drops what is left. A retriable error (e.g. <see cref="ErrorCode.NotEnoughReplicas"/>) makes producers retry
    /// until their <c>message.timeout.ms</c>; a permanent one (e.g. <see cref="ErrorCode.InvalidRecord"/>) fails the
    /// records at once.
    /// </summary>
    public void FailRequests(KafkaApi api, ErrorCode error, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        // A broker error code: librdkafka's local codes (negative) other than its "disconnect" (__TRANSPORT) mean nothing here.
        if (error == ErrorCode.NoError || ((int)error < 0 && error != ErrorCode.Local_Transport))
        {
            throw new ArgumentOutOfRangeException(nameof(error), error, "Inject a broker error code, or Local_Transport to close the connection.");
        }

        var errors = new int[count];
        Array.Fill(errors, (int)error);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(cluster == IntPtr.Zero, this);
            MockClusterNative.rd_kafka_mock_push_request_errors_array(cluster, (short)api, (nuint)count, errors);
        }
    }

    /// <summary>Drops the injected errors of <paramref name="api"/> not yet used: its requests succeed again.</summary>
    public void ClearRequestErrors(KafkaApi api)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(cluster == IntPtr.Zero, this);
            MockClusterNative.rd_kafka_mock_clear_request_errors(cluster, (short)api);
        }
    }

    /// <summary>Closes every connection, frees the ports and drops all data.</summary>
    public async ValueTask DisposeAsync()
    {
        // Ports first: clients see their connections close, and the ports are free again once this returns.
        foreach (var forwarder in forwarders)
        {
            await forwarder.DisposeAsync();
        }

        lock (gate)
        {
            if (cluster != IntPtr.Zero)
            {
                MockClusterNative.rd_kafka_mock_cluster_destroy(cluster);
                cluster = IntPtr.Zero;
            }

            if (handle != IntPtr.Zero)
            {
                MockClusterNative.rd_kafka_destroy(handle);
                handle = IntPtr.Zero;
            }
        }
    }

    // The mock cluster needs an rd_kafka_t for its bookkeeping; a producer that never produces is the cheapest one.
    // No finalizer owns these handles: destroying librdkafka instances joins threads, which must not happen there.
    private static (IntPtr Handle, IntPtr Cluster) CreateCluster(int brokers)
    {
        var conf = MockClusterNative.rd_kafka_conf_new();
        var error = new byte[512];

        // This client never connects anywhere; log_level 4 (warning) drops its notice that it has no bootstrap.servers,
        // which would only confuse whoever reads the dev broker's stderr.
        foreach (var (name, value) in new[] { ("client.id", "identitygraph-dev-broker"), ("log_level", "4") })
        {
            if (MockClusterNative.rd_kafka_conf_set(conf, name, value, error) != 0)
            {
                MockClusterNative.rd_kafka_conf_destroy(conf);
                throw new InvalidOperationException($"librdkafka refused {name}={value} for the dev broker: {CString(error)}");
            }
        }

        var handle = MockClusterNative.rd_kafka_new(MockClusterNative.ProducerType, conf, error, (nuint)error.Length);
        if (handle == IntPtr.Zero)
        {
            MockClusterNative.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"librdkafka could not create a client for the dev broker: {CString(error)}");
        }

        var cluster = MockClusterNative.rd_kafka_mock_cluster_new(handle, brokers);
        if (cluster == IntPtr.Zero)
        {
            MockClusterNative.rd_kafka_destroy(handle);
            throw new InvalidOperationException("librdkafka could not start its mock cluster; its log on stderr says why.");
        }

        return (handle, cluster);
    }

    /// <summary>Points each fixed port at its mock broker and makes Metadata advertise the fixed ports.</summary>
    private void Wire()
    {
        var bootstraps = Marshal.PtrToStringUTF8(MockClusterNative.rd_kafka_mock_cluster_bootstraps(cluster)) ?? "";
        var listeners = bootstraps.Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (listeners.Length != forwarders.Count)
        {
            throw new InvalidOperationException($"The mock cluster reported {listeners.Length} brokers ({bootstraps}), expected {forwarders.Count}.");
        }

        // Without this the mock holds a new group's first join for 3 s, waiting for more members.
        MockClusterNative.rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, 0);
        for (var i = 0; i < forwarders.Count; i++)
        {
            MockClusterNative.rd_kafka_mock_broker_set_host_port(cluster, i + 1, Host, forwarders[i].Port);
            forwarders[i].Start(IPEndPoint.Parse(listeners[i]));
        }
    }

    private static string CString(byte[] buffer)
    {
        var end = Array.IndexOf(buffer, (byte)0);
        return Encoding.UTF8.GetString(buffer, 0, end < 0 ? buffer.Length : end);
    }
}
