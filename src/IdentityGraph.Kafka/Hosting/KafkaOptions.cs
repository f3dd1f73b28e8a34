using Confluent.Kafka;

namespace IdentityGraph.Kafka.Hosting;

/// <summary>
/// Section <c>IdentityGraph:Kafka</c>: where the broker is, how to talk to it, and what to read and write.
/// </summary>
public sealed class KafkaOptions
{
    public const string Section = "IdentityGraph:Kafka";

    /// <summary>Comma-separated <c>host:port</c> list of the brokers.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>
    /// librdkafka properties passed to every client we create (consumer and producers), e.g.
    /// <c>security.protocol</c>, <c>sasl.mechanism</c>, <c>sasl.username</c>, <c>sasl.password</c>,
    /// <c>ssl.ca.location</c>, <c>client.id</c>. They override our defaults.
    /// </summary>
    public Dictionary<string, string> Client { get; set; } = new(StringComparer.Ordinal);

    public IngestionOptions Ingestion { get; set; } = new();

    public OutboxOptions Outbox { get; set; } = new();

    /// <summary>Problems a person must fix before the program can start; empty when valid.</summary>
    /// <param name="requireBootstrapServers">False where a command line may still supply them.</param>
    public IReadOnlyList<string> Validate(bool requireBootstrapServers = true)
    {
        var problems = new List<string>();
        if (requireBootstrapServers && string.IsNullOrWhiteSpace(BootstrapServers))
        {
            problems.Add($"{Section}:BootstrapServers is required (host:port of the Kafka brokers).");
        }

        problems.AddRange(Ingestion.Validate($"{Section}:Ingestion"));
        problems.AddRange(Outbox.Validate($"{Section}:Outbox"));
        return problems;
    }

    /// <summary>Our defaults for every client, then the pass-through settings on top.</summary>
    internal ClientConfig BaseConfig(string clientIdSuffix)
    {
        var config = new ClientConfig
        {
            BootstrapServers = BootstrapServers,
            ClientId = "identitygraph-" + clientIdSuffix,
        };
        foreach (var (key, value) in Client)
        {
            config.Set(key, value);
        }

        return config;
    }
}

/// <summary>Section <c>IdentityGraph:Kafka:Ingestion</c>: the consumer of observations.</summary>
public sealed class IngestionOptions
{
    /// <summary>
    /// Topics to consume; empty means <c>identity.observations</c>. An entry that starts with <c>^</c> is a regular
    /// expression (librdkafka syntax). (Empty rather than pre-filled: configuration binding appends to a list.)
    /// </summary>
    public List<string> Topics { get; set; } = [];

    /// <summary>The topics to subscribe to.</summary>
    public IReadOnlyList<string> EffectiveTopics => Topics.Count == 0 ? [Kafka.Topics.Observations] : Topics;

    /// <summary>The consumer group; every node of one deployment uses the same.</summary>
    public string GroupId { get; set; } = "identitygraph";

    /// <summary>Where unusable observations go, with the reason in headers.</summary>
    public string DeadLetterTopic { get; set; } = Kafka.Topics.DeadLetters;

    /// <summary>Observations being resolved at once on this node; bounds memory and keeps the journal's batches full.</summary>
    public int MaxInFlight { get; set; } = 512;

    /// <summary>How long a revoke or shutdown waits for in-flight observations before it commits what is done.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Attempts at resolving one observation before it goes to the dead-letter topic with
    /// <c>observation.resolve_failed</c>. A failed attempt counts only when the journal answers and another observation was
    /// resolved since the previous attempt, or none other is in flight (the graph works, this observation does not): a
    /// journal outage dead-letters nothing.
    /// </summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>
    /// Static group membership (<c>group.instance.id</c>): a stable name per node (the pod name). A node that restarts
    /// under the same name gets its partitions back without waiting for a rebalance, where the broker honours it.
    /// Blank: the node's Akka address when it has a public host name and a fixed port, otherwise dynamic membership.
    /// Two running nodes must never share it.
    /// </summary>
    public string? InstanceId { get; set; }

    /// <summary>
    /// How long the group waits for a silent member before its partitions go to the others (<c>session.timeout.ms</c>;
    /// heartbeats every third of it, at most 3 s). Bounds how long a killed node's partitions stand still. 6 s is the
    /// smallest a Kafka broker accepts by default (<c>group.min.session.timeout.ms</c>); heartbeats come from
    /// librdkafka's own thread, so a .NET garbage collection pause does not miss them.
    /// </summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>librdkafka consumer properties that override ours (e.g. <c>fetch.wait.max.ms</c>, <c>session.timeout.ms</c>).</summary>
    public Dictionary<string, string> Consumer { get; set; } = new(StringComparer.Ordinal);

    internal IEnumerable<string> Validate(string prefix)
    {
        if (Topics.Any(string.IsNullOrWhiteSpace))
        {
            yield return $"{prefix}:Topics has a blank entry.";
        }

        if (string.IsNullOrWhiteSpace(GroupId))
        {
            yield return $"{prefix}:GroupId is required.";
        }

        if (string.IsNullOrWhiteSpace(DeadLetterTopic))
        {
            yield return $"{prefix}:DeadLetterTopic is required.";
        }

        if (MaxInFlight is < 1 or > 100_000)
        {
            yield return $"{prefix}:MaxInFlight must be between 1 and 100000 (was {MaxInFlight}).";
        }

        if (DrainTimeout <= TimeSpan.Zero)
        {
            yield return $"{prefix}:DrainTimeout must be positive.";
        }

        if (MaxAttempts is < 1 or > 1000)
        {
            yield return $"{prefix}:MaxAttempts must be between 1 and 1000 (was {MaxAttempts}).";
        }

        if (InstanceId is { Length: > 249 })
        {
            yield return $"{prefix}:InstanceId must be at most 249 characters.";
        }

        // Kafka brokers accept 6 s to 30 min by default (group.min/max.session.timeout.ms).
        if (SessionTimeout < TimeSpan.FromSeconds(1) || SessionTimeout > TimeSpan.FromMinutes(30))
        {
            yield return $"{prefix}:SessionTimeout must be between 00:00:01 and 00:30:00 (was {SessionTimeout}).";
        }
    }
}

/// <summary>How profile events and snapshots are encoded on the output topics.</summary>
public enum OutputFormat
{
    /// <summary>Protobuf binary (<c>content-type: application/x-protobuf</c>).</summary>
    Protobuf,

    /// <summary>Proto3 canonical JSON (<c>content-type: application/json</c>).</summary>
    Json,
}

/// <summary>Section <c>IdentityGraph:Kafka:Outbox</c>: publishing journal events to the output topics.</summary>
public sealed class OutboxOptions
{
    /// <summary>Publish profile events at all (a read-only replica of the API may turn it off).</summary>
    public bool Enabled { get; set; } = true;

    public string ProfileEventsTopic { get; set; } = Kafka.Topics.ProfileEvents;

    public string ProfilesTopic { get; set; } = Kafka.Topics.Profiles;

    /// <summary>
    /// Where a profile event or snapshot goes that cannot be published (larger than the broker accepts, or refused for
    /// good), with the reason in headers, so that one record does not stop every profile behind it.
    /// </summary>
    public string DeadLetterTopic { get; set; } = Kafka.Topics.ProfileEventsDeadLetters;

    /// <summary>
    /// Events pending this long without the checkpoint moving make the outbox count as failing (<c>/readyz</c> 503,
    /// <c>identitygraph_outbox_failing</c> 1), also when no error was reported.
    /// </summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    public OutputFormat Format { get; set; } = OutputFormat.Protobuf;

    /// <summary>
    /// Most journal events read, produced and checkpointed as one batch. Each is one command's changes in one profile
    /// slice, so it holds many profiles' events (about a micro-batch's share of the slice).
    /// </summary>
    public int BatchSize { get; set; } = 200;

    /// <summary>
    /// How often the outbox reads the journal when no write on this node woke it: the delay of events written on other
    /// nodes (and of what a crash left unpublished). A write on the node that runs the outbox wakes it at once.
    /// </summary>
    public TimeSpan CatchUpInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How often the outbox saves its checkpoint (and when it stops): at most this much is published again after a
    /// crash. Every delivered batch used to save it: on SQLite those writes competed with the graph's for the one
    /// write lock.
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long shutdown waits for the projection to publish what is already durable.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>librdkafka producer properties that override ours.</summary>
    public Dictionary<string, string> Producer { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The output topics' <c>max.message.bytes</c>, for a broker that does not say: 0 (the default) reads it with
    /// DescribeConfigs when the outbox starts, which a broker without that permission refuses and the dev broker never
    /// answers (the outbox then waits 5 s and assumes 1,000,000). <c>demo</c> and <c>serve --embedded-kafka</c> set it.
    /// </summary>
    public int MaxMessageBytes { get; set; }

    internal IEnumerable<string> Validate(string prefix)
    {
        if (string.IsNullOrWhiteSpace(ProfileEventsTopic) || string.IsNullOrWhiteSpace(ProfilesTopic) || string.IsNullOrWhiteSpace(DeadLetterTopic))
        {
            yield return $"{prefix}:ProfileEventsTopic, {prefix}:ProfilesTopic and {prefix}:DeadLetterTopic are required.";
        }

        if (DeadLetterTopic == ProfileEventsTopic || DeadLetterTopic == ProfilesTopic)
        {
            yield return $"{prefix}:DeadLetterTopic must differ from the output topics (was {DeadLetterTopic}).";
        }

        if (StallTimeout < TimeSpan.FromSeconds(10))
        {
            yield return $"{prefix}:StallTimeout must be at least 10 seconds (the lag is measured every 5; was {StallTimeout}).";
        }

        if (BatchSize is < 1 or > 100_000)
        {
            yield return $"{prefix}:BatchSize must be between 1 and 100000 (was {BatchSize}).";
        }

        if (DrainTimeout <= TimeSpan.Zero)
        {
            yield return $"{prefix}:DrainTimeout must be positive.";
        }

        if (CheckpointInterval < TimeSpan.Zero || CheckpointInterval > TimeSpan.FromMinutes(10))
        {
            yield return $"{prefix}:CheckpointInterval must be between 00:00:00 and 00:10:00 (was {CheckpointInterval}).";
        }

        if (MaxMessageBytes != 0 && MaxMessageBytes is < 1024 or > 100 * 1024 * 1024)
        {
            yield return $"{prefix}:MaxMessageBytes must be 0 (read from the broker) or between 1024 and 104857600 (was {MaxMessageBytes}).";
        }

        // Below 10 ms the catch-up would be a busy poll; a day bounds what a typo can delay.
        if (CatchUpInterval < TimeSpan.FromMilliseconds(10) || CatchUpInterval > TimeSpan.FromDays(1))
        {
            yield return $"{prefix}:CatchUpInterval must be between 00:00:00.010 and 1.00:00:00 (was {CatchUpInterval}).";
        }
    }
}
