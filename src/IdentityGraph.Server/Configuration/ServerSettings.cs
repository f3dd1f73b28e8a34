using IdentityGraph.Cluster.Hosting;
using IdentityGraph.Cluster.Persistence;

namespace IdentityGraph.Server.Configuration;

/// <summary>
/// Section <c>IdentityGraph</c> (environment: <c>IdentityGraph__…</c>): where the graph is stored, how this node joins
/// its cluster, and where HTTP listens. Command-line flags override these. Identifier handling is
/// <see cref="IdentitySettings"/>; Kafka is <c>KafkaOptions</c>.
/// </summary>
public sealed class ServerSettings
{
    public const string Section = "IdentityGraph";

    /// <summary><c>sqlite:PATH</c> or <c>postgres:CONNECTION STRING</c> (flag <c>--persistence</c>).</summary>
    public string Persistence { get; set; } = StorageSettings.DefaultSpec;

    public HttpSettings Http { get; set; } = new();

    public ApiSettings Api { get; set; } = new();

    public ClusterSettings Cluster { get; set; } = new();

    public JournalSettings Journal { get; set; } = new();

    public GraphSettings Graph { get; set; } = new();

    /// <summary>Problems a person must fix before the program can start; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!TryListenerUrl(Http.Url, out _))
        {
            problems.Add($"{Section}:Http:Url '{Http.Url}' is not an http(s)://HOST:PORT address.");
        }

        if (!TryOptionalListenerUrl(Http.GrpcUrl, out _))
        {
            problems.Add($"{Section}:Http:GrpcUrl '{Http.GrpcUrl}' is not an http(s)://HOST:PORT address (or empty or 'none' for no gRPC listener).");
        }

        if (Api.Key is { } key && key.Length < ApiSettings.MinimumKeyLength)
        {
            problems.Add($"{Section}:Api:Key must be at least {ApiSettings.MinimumKeyLength} characters long.");
        }

        if (Cluster.Port is < 0 or > 65535)
        {
            problems.Add($"{Section}:Cluster:Port must be between 0 and 65535 (was {Cluster.Port}).");
        }

        if (Cluster.ShardCount is < 1 or > 10_000)
        {
            problems.Add($"{Section}:Cluster:ShardCount must be between 1 and 10000 (was {Cluster.ShardCount}).");
        }

        if (Journal.MaxPoolSize is < 2 or > 1000)
        {
            problems.Add($"{Section}:Journal:MaxPoolSize must be between 2 and 1000 (was {Journal.MaxPoolSize}).");
        }

        if (Journal.MaxConcurrentRecoveries is < 1 or > 10_000)
        {
            problems.Add($"{Section}:Journal:MaxConcurrentRecoveries must be between 1 and 10000 (was {Journal.MaxConcurrentRecoveries}).");
        }

        problems.AddRange(Graph.Validate());

        foreach (var seed in Cluster.SeedNodes.Where(s => !s.StartsWith("akka.tcp://", StringComparison.Ordinal)))
        {
            problems.Add($"{Section}:Cluster:SeedNodes entry '{seed}' is not an akka.tcp://identitygraph@HOST:PORT address.");
        }

        return problems;
    }

    /// <summary>True when <paramref name="value"/> is a listener address: <c>http(s)://HOST:PORT</c>, nothing after it.</summary>
    public static bool TryListenerUrl(string? value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Uri? url) =>
        Uri.TryCreate(value, UriKind.Absolute, out url) && url.Scheme is "http" or "https" && url.AbsolutePath == "/";

    /// <summary>
    /// True when <paramref name="value"/> asks for no listener (blank or <c>none</c>; <paramref name="url"/> null) or is a
    /// listener address.
    /// </summary>
    public static bool TryOptionalListenerUrl(string? value, out Uri? url)
    {
        url = null;
        return string.IsNullOrWhiteSpace(value) || value.Trim().Equals("none", StringComparison.OrdinalIgnoreCase) || TryListenerUrl(value, out url);
    }

    /// <summary>The graph options of this node.</summary>
    public IdentityGraphOptions ToGraphOptions(StorageSettings storage) => Graph.ApplyTo(new()
    {
        Storage = storage,
        Hostname = Cluster.Hostname,
        PublicHostname = string.IsNullOrWhiteSpace(Cluster.PublicHostname) ? null : Cluster.PublicHostname,
        Port = Cluster.Port,
        SeedNodes = Cluster.SeedNodes,
        ShardCount = Cluster.ShardCount,
        MaxConcurrentRecoveries = Journal.MaxConcurrentRecoveries,
    });

    /// <summary>
    /// The node's stable name for Kafka static membership when none is configured: its Akka address
    /// (<c>PUBLICHOST:PORT</c>), which is unique in a cluster, when it has a public host name (the pod's DNS name) and a
    /// fixed port; null otherwise (dynamic membership: two nodes must never share a name).
    /// </summary>
    public string? DefaultInstanceId() =>
        string.IsNullOrWhiteSpace(Cluster.PublicHostname) || Cluster.Port == 0
            ? null
            : $"{Cluster.PublicHostname.Trim()}:{Cluster.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}

/// <summary>Section <c>IdentityGraph:Journal</c>: how hard this node may use the journal database.</summary>
public sealed class JournalSettings
{
    /// <summary>
    /// PostgreSQL connections this node opens at most (all of its pools together use one); the connection string's
    /// <c>Maximum Pool Size</c> wins when it sets one. Keep nodes × this below the server's <c>max_connections</c>.
    /// </summary>
    public int MaxPoolSize { get; set; } = StorageSettings.DefaultMaxPoolSize;

    /// <summary>Entities recovering their state from the journal at once on this node (<c>akka.persistence.max-concurrent-recoveries</c>).</summary>
    public int MaxConcurrentRecoveries { get; set; } = 256;
}

/// <summary>Section <c>IdentityGraph:Graph</c>: the identifier index and micro-batching (docs/architecture.md).</summary>
public sealed class GraphSettings
{
    /// <summary><paramref name="options"/> with this section's values: the one place that maps them, for every command.</summary>
    public IdentityGraphOptions ApplyTo(IdentityGraphOptions options) => options with
    {
        IndexSlices = IndexSlices > 0
            ? IndexSlices
            : throw new InvalidOperationException("IdentityGraph:Graph:IndexSlices is 'as written': resolve it from the database first (IndexSliceCount)."),
        IndexSnapshotEvery = IndexSnapshotEvery,
        DecodedProfilesPerSlice = DecodedProfilesPerSlice,
        Batching = Batch.ToOptions(),
    };

    /// <summary>
    /// Slices of the identifier index, and of the profiles. Fixed for the life of a database (a node refuses a database written with another
    /// count). 0, the default: as the database was written (databases from before 2026-12-07 have 64), and
    /// <see cref="Core.Index.IndexSlices.DefaultSliceCount"/> (16) for a database without an index yet.
    /// </summary>
    public int IndexSlices { get; set; }

    /// <summary>An index slice saves a snapshot every this many events (and deletes the events before its previous snapshot).</summary>
    public int IndexSnapshotEvery { get; set; } = 500;

    /// <summary>
    /// Profiles each profile slice keeps decoded (the most recently used; the rest are held serialised): more is faster
    /// and takes more memory (about 2 KB each).
    /// </summary>
    public int DecodedProfilesPerSlice { get; set; } = Cluster.Hosting.IdentityGraphOptions.DefaultDecodedProfilesPerSlice;

    public BatchSettings Batch { get; set; } = new();

    /// <summary>Problems with these settings, each naming the setting; empty when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        const string prefix = ServerSettings.Section + ":Graph";
        if (IndexSlices is < 0 or > 4096)
        {
            yield return $"{prefix}:IndexSlices must be between 1 and 4096, or 0 for the count the database was written with (was {IndexSlices}).";
        }

        if (IndexSnapshotEvery is < 10 or > 1_000_000)
        {
            yield return $"{prefix}:IndexSnapshotEvery must be between 10 and 1000000 (was {IndexSnapshotEvery}).";
        }

        if (DecodedProfilesPerSlice is < 1 or > 10_000_000)
        {
            yield return $"{prefix}:DecodedProfilesPerSlice must be between 1 and 10000000 (was {DecodedProfilesPerSlice}).";
        }

        foreach (var problem in Batch.ToOptions().Validate(prefix + ":Batch"))
        {
            yield return problem;
        }
    }
}

/// <summary>Section <c>IdentityGraph:Graph:Batch</c>: how observations are grouped into micro-batches.</summary>
public sealed class BatchSettings
{
    private static readonly Cluster.Resolution.BatchingOptions Defaults = new();

    /// <summary>Most observations in one batch.</summary>
    public int MaxSize { get; set; } = Defaults.MaxSize;

    /// <summary>How long a batch that is not full waits for more before it starts (a lone observation's extra latency).</summary>
    public TimeSpan MaxWait { get; set; } = Defaults.MaxWait;

    /// <summary>Batches resolved at once on a node; the next one forms while these are written.</summary>
    public int MaxInFlight { get; set; } = Defaults.MaxInFlight;

    public Cluster.Resolution.BatchingOptions ToOptions() => new() { MaxSize = MaxSize, MaxWait = MaxWait, MaxInFlight = MaxInFlight };
}

/// <summary>Section <c>IdentityGraph:Http</c>.</summary>
public sealed class HttpSettings
{
    /// <summary>Where the HTTP/1.1 endpoints (REST API, health, metrics) listen (flag <c>--http</c>).</summary>
    public string Url { get; set; } = "http://127.0.0.1:8080";

    /// <summary>
    /// Where the gRPC <c>Lookup</c> service listens (HTTP/2 without TLS needs its own port); empty or <c>none</c>: no
    /// gRPC listener.
    /// </summary>
    public string? GrpcUrl { get; set; } = "http://127.0.0.1:8081";
}

/// <summary>Section <c>IdentityGraph:Api</c>.</summary>
public sealed class ApiSettings
{
    public const int MinimumKeyLength = 16;

    /// <summary>
    /// The API key clients send in the <c>X-Api-Key</c> header. Required when HTTP listens beyond loopback; when set,
    /// it is required on loopback too.
    /// </summary>
    public string? Key { get; set; }
}

/// <summary>Section <c>IdentityGraph:Cluster</c>: Akka clustering of the graph nodes.</summary>
public sealed class ClusterSettings
{
    /// <summary>The address Akka remoting binds to.</summary>
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>The address other nodes reach this one by, when it differs (Kubernetes: the pod's DNS name).</summary>
    public string? PublicHostname { get; set; }

    /// <summary>Akka remoting port; 0 picks a free one (single node only).</summary>
    public int Port { get; set; }

    /// <summary>Seed nodes, <c>akka.tcp://identitygraph@HOST:PORT</c>; empty: this node forms a cluster of its own.</summary>
    public List<string> SeedNodes { get; set; } = [];

    /// <summary>Shards per entity type, about ten per node of the largest cluster; never change it for a deployment.</summary>
    public int ShardCount { get; set; } = 100;
}
