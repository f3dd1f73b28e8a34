namespace IdentityGraph.Cluster.Hosting;

/// <summary>How a node of the identity graph runs. Defaults: a single embedded node on SQLite.</summary>
public sealed record IdentityGraphOptions
{
    /// <summary>Name of the actor system; every node of one cluster uses the same.</summary>
    public string ActorSystemName { get; init; } = "identitygraph";

    /// <summary>Where the journal and snapshots live (see <c>StorageSettings.Parse</c>).</summary>
    public required Persistence.StorageSettings Storage { get; init; }

    /// <summary>
    /// Shards per entity type: about ten per node of the largest cluster you will run. Fixed for the life of a
    /// deployment: changing it moves entities between shards.
    /// </summary>
    public int ShardCount { get; init; } = 100;

    /// <summary>Bounds on one profile: identifiers (checked by the resolver) and attribute keys (kept by the profile).</summary>
    public Core.Profiles.ProfileLimits Limits { get; init; } = Core.Profiles.ProfileLimits.Default;

    /// <summary>
    /// A profile slice saves a snapshot (every profile's state) after at least this many events — and at least as many
    /// profile changes as it holds profiles, so that its snapshots write no more than its journal does.
    /// </summary>
    public int SnapshotEvery { get; init; } = 500;

    /// <summary>
    /// Profiles each profile slice keeps decoded (the most recently used); the others are held serialised and decoded
    /// when used. Trades memory (about 2 KB a decoded profile of the benchmark workload, against 450 bytes serialised)
    /// for CPU.
    /// </summary>
    public int DecodedProfilesPerSlice { get; init; } = DefaultDecodedProfilesPerSlice;

    /// <summary>The default of <see cref="DecodedProfilesPerSlice"/>.</summary>
    public const int DefaultDecodedProfilesPerSlice = 1024;

    /// <summary>
    /// Slices of the identifier index (<see cref="Core.Index.IndexSlices"/>), and of the profiles
    /// (<see cref="Core.Profiles.ProfileSlices"/>). Fixed for the life of a database: it decides in which slice an
    /// identifier's owner, and a profile, was written. A node refuses to start when the database was written with another count
    /// (the slice count is part of each slice's persistence id).
    /// </summary>
    public int IndexSlices { get; init; } = Core.Index.IndexSlices.DefaultSliceCount;

    /// <summary>An index slice saves a snapshot every this many events (and deletes the events before its previous snapshot).</summary>
    public int IndexSnapshotEvery { get; init; } = 500;

    /// <summary>How observations are grouped into micro-batches (<see cref="Resolution.BatchingOptions"/>).</summary>
    public Resolution.BatchingOptions Batching { get; init; } = new();

    /// <summary>Entities recovering from the journal at once (each recovery is a few queries).</summary>
    public int MaxConcurrentRecoveries { get; init; } = 256;

    /// <summary>How long one step of the merge protocol may take before the resolve fails (and is retried by its caller).</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Host name other nodes reach this one by (Akka remoting).</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>
    /// The host name other nodes use to reach this one when it differs from the bound <see cref="Hostname"/> (in
    /// Kubernetes: bind 0.0.0.0, advertise the pod's stable DNS name). Null: the bound host name.
    /// </summary>
    public string? PublicHostname { get; init; }

    /// <summary>Akka remoting port; 0 picks a free one (fine for a single node).</summary>
    public int Port { get; init; }

    /// <summary>Seed nodes (akka.tcp://identitygraph@host:port); empty: this node forms a cluster of its own.</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];
}
