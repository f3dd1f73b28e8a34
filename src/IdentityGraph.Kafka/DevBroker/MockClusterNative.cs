using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace IdentityGraph.Kafka;

/// <summary>
/// P/Invoke into librdkafka's mock cluster API (<c>rdkafka_mock.h</c>). That API is experimental and outside
/// librdkafka's ABI guarantees, so these signatures hold for the librdkafka.redist version pinned in
/// Directory.Packages.props; check them against its header when that version changes.
/// </summary>
internal static class MockClusterNative
{
    private const string LibraryName = "librdkafka";

    internal const int ProducerType = 0;

    private static readonly Lock Gate = new();
    private static IntPtr library;

    /// <summary>
    /// Loads librdkafka through Confluent.Kafka and points this assembly's imports at the same file, so that the mock
    /// cluster and the clients share one copy of the library. Idempotent.
    /// </summary>
    internal static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (library != IntPtr.Zero)
            {
                return;
            }

            Confluent.Kafka.Library.Load();
            library = NativeLibrary.Load(LoadedLibraryPath());
            NativeLibrary.SetDllImportResolver(typeof(MockClusterNative).Assembly, Resolve);
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == LibraryName ? library : IntPtr.Zero;

    /// <summary>The librdkafka file Confluent.Kafka loaded, or the one the runtime would pick for this platform.</summary>
    private static string LoadedLibraryPath()
    {
        // On Linux Confluent.Kafka may pick a glibc, CentOS 8 or musl build; the process's mappings say which.
        if (OperatingSystem.IsLinux() && MappedLibrdkafka() is { } mapped)
        {
            return mapped;
        }

        var (rid, file) = PlatformLibrary();
        var candidates = new List<string>();
        if (rid is not null)
        {
            candidates.Add(Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native", file));
        }

        // A RID-specific or self-contained publish puts native files next to the application.
        candidates.Add(Path.Combine(AppContext.BaseDirectory, file));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new DllNotFoundException(
                $"The dev broker needs librdkafka from the librdkafka.redist package for {rid ?? RuntimeInformation.RuntimeIdentifier}, " +
                $"and found none at: {string.Join(", ", candidates)}. It runs on linux-x64/arm64, osx-x64/arm64 and win-x64/x86.");
    }

    private static (string? Rid, string File) PlatformLibrary()
    {
        var (os, file) = OperatingSystem.IsWindows() ? ("win", "librdkafka.dll")
            : OperatingSystem.IsMacOS() ? ("osx", "librdkafka.dylib")
            : OperatingSystem.IsLinux() ? ("linux", "librdkafka.so")
            : (null, "librdkafka.so");
        var arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            Architecture.X86 => "x86",
            Architecture.S390x => "s390x",
            _ => null,
        };
        return (os is null || arch is null ? null : $"{os}-{arch}", file);
    }

    private static string? MappedLibrdkafka()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                // "address perms offset dev inode   /path/to/file": the path is the only field starting with '/'.
                var slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash >= 0 && Path.GetFileName(line.AsSpan(slash)).EndsWith("librdkafka.so", StringComparison.Ordinal))
                {
                    return line[slash..];
                }
            }
        }
        catch (IOException)
        {
            // No /proc (a restricted sandbox): fall back to the package layout.
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    internal static extern IntPtr rd_kafka_conf_new();

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    internal static extern void rd_kafka_conf_destroy(IntPtr conf);

    /// <summary>Takes ownership of <paramref name="conf"/> only when it succeeds.</summary>
    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    internal static extern IntPtr rd_kafka_new(int type, IntPtr conf, [Out] byte[] errstr, nuint errstrSize);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    internal static extern void rd_kafka_destroy(IntPtr rk);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    internal static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    internal static extern void rd_kafka_mock_cluster_destroy(IntPtr cluster);

    /// <summary>"host:port,host:port" in broker id order (1..N); owned by the cluster.</summary>
    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    internal static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

    /// <summary>Returns an rd_kafka_conf_res_t: 0 is RD_KAFKA_CONF_OK.</summary>
    internal static int rd_kafka_conf_set(IntPtr conf, string name, string value, byte[] errstr) =>
        ConfSet(conf, CString(name), CString(value), errstr, (nuint)errstr.Length);

    /// <summary>Returns an rd_kafka_resp_err_t, the same numbers as <see cref="Confluent.Kafka.ErrorCode"/>.</summary>
    internal static int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitionCount, int replicationFactor) =>
        MockTopicCreate(cluster, CString(topic), partitionCount, replicationFactor);

    /// <summary>Changes only what Metadata advertises; the broker keeps listening where it was.</summary>
    internal static void rd_kafka_mock_broker_set_host_port(IntPtr cluster, int brokerId, string host, int port) =>
        MockBrokerSetHostPort(cluster, brokerId, CString(host), port);

    /// <summary>Returns an rd_kafka_resp_err_t; 0 is success.</summary>
    internal static int rd_kafka_mock_partition_set_leader(IntPtr cluster, string topic, int partition, int brokerId) =>
        MockPartitionSetLeader(cluster, CString(topic), partition, brokerId);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    internal static extern void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr cluster, int delayMs);

    /// <summary>
    /// The next <paramref name="count"/> requests of type <paramref name="apiKey"/>, to any broker of the cluster, fail
    /// with <paramref name="errors"/>[0], [1], … in turn (each an rd_kafka_resp_err_t, a C int). Appends to what is
    /// already pushed. C: <c>void (rd_kafka_mock_cluster_t *, int16_t ApiKey, size_t cnt, const rd_kafka_resp_err_t *errors)</c>.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    internal static extern void rd_kafka_mock_push_request_errors_array(IntPtr cluster, short apiKey, nuint count, int[] errors);

    /// <summary>Drops the errors still pushed for <paramref name="apiKey"/> cluster-wide (not per broker or partition).</summary>
    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    internal static extern void rd_kafka_mock_clear_request_errors(IntPtr cluster, short apiKey);

    // Strings go in as NUL-terminated UTF-8 bytes: librdkafka reads UTF-8, and byte arrays need no marshalling rules.
    private static byte[] CString(string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }

    [DllImport(LibraryName, EntryPoint = "rd_kafka_conf_set", CallingConvention = CallingConvention.Cdecl)]
    private static extern int ConfSet(IntPtr conf, byte[] name, byte[] value, [Out] byte[] errstr, nuint errstrSize);

    [DllImport(LibraryName, EntryPoint = "rd_kafka_mock_topic_create", CallingConvention = CallingConvention.Cdecl)]
    private static extern int MockTopicCreate(IntPtr cluster, byte[] topic, int partitionCount, int replicationFactor);

    [DllImport(LibraryName, EntryPoint = "rd_kafka_mock_partition_set_leader", CallingConvention = CallingConvention.Cdecl)]
    private static extern int MockPartitionSetLeader(IntPtr cluster, byte[] topic, int partition, int brokerId);

    [DllImport(LibraryName, EntryPoint = "rd_kafka_mock_broker_set_host_port", CallingConvention = CallingConvention.Cdecl)]
    private static extern void MockBrokerSetHostPort(IntPtr cluster, int brokerId, byte[] host, int port);
}
