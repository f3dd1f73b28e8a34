using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Kafka;

namespace IdentityGraph.Server.Tests.Support;

/// <summary>
/// <c>identitygraph serve</c> as a process on a SQLite file, against a dev broker hosted in the test process — so that the
/// test can make the broker misbehave (<see cref="DevBroker.FailRequests"/>) while the node runs as in production.
/// Input goes in with kcat (<see cref="Kcat"/>); the output topics are read back with a plain consumer.
/// </summary>
public sealed partial class InProcessBrokerRig : IAsyncDisposable
{
    private Process? serve;

    private InProcessBrokerRig(DevBroker broker, string directory)
    {
        Broker = broker;
        Directory = directory;
    }

    public DevBroker Broker { get; }

    /// <summary>A temporary directory for the database and input files; deleted on dispose.</summary>
    public string Directory { get; }

    public string BootstrapServers => Broker.BootstrapServers;

    public Uri Http { get; } = new($"http://127.0.0.1:{KafkaRig.FreePort()}/");

    public string DatabasePath => Path.Combine(Directory, "graph.db");

    /// <summary>Everything <c>serve</c> wrote to stderr, for failure messages.</summary>
    public StringBuilder Log { get; } = new();

    public static InProcessBrokerRig Start(int partitions)
    {
        Kcat.EnsureInstalled();
        var broker = DevBroker.Start(new DevBrokerOptions { Port = 0, Partitions = partitions });
        return new InProcessBrokerRig(broker, System.IO.Directory.CreateTempSubdirectory("identitygraph-outboxfail-").FullName);
    }

    /// <summary>Starts <c>serve</c> with the given extra environment and waits for its /readyz.</summary>
    public Task StartServeAsync(params (string Name, string Value)[] environment)
    {
        var start = NormalizeCommandTests.StartInfo(
            ["serve", "--kafka", BootstrapServers, "--persistence", "sqlite:" + DatabasePath, "--http", Http.ToString(), "--grpc", "none"]);
        start.Environment["IdentityGraph__Kafka__Client__client.id"] = "outbox-failure";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        serve = Process.Start(start)!;
        serve.OutputDataReceived += (_, _) => { };
        serve.BeginOutputReadLine();
        serve.ErrorDataReceived += (_, e) =>
        {
            lock (Log)
            {
                Log.Append(e.Data).Append('\n');
            }
        };
        serve.BeginErrorReadLine();
        return KafkaRig.WaitUntilReadyAsync(serve, Http, TimeSpan.FromSeconds(120));
    }

    /// <summary>SIGTERM to <c>serve</c>; returns its exit code.</summary>
    public async Task<int> StopServeAsync(TimeSpan limit)
    {
        var process = serve ?? throw new InvalidOperationException("serve is not running");
        KafkaRig.Signal(process, "TERM");
        using var timeout = new CancellationTokenSource(limit);
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    /// <summary>/readyz: the status code and the checks.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Checks)> ReadinessAsync(HttpClient client)
    {
        using var response = await client.GetAsync(new Uri(Http, "readyz"));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    /// <summary>The value of the series <paramref name="name"/> in /metrics (the first when it has several), or null when absent.</summary>
    public async Task<double?> MetricAsync(HttpClient client, string name, string? label = null)
    {
        var exposition = await client.GetStringAsync(new Uri(Http, "metrics"));
        foreach (Match match in SeriesLine().Matches(exposition))
        {
            if (match.Groups["name"].Value == name && (label is null || match.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
            {
                return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<labels>\{[^}]*\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex SeriesLine();

    /// <summary>Every record of <paramref name="topic"/> up to the high watermarks.</summary>
    public List<ConsumeResult<string?, byte[]?>> ReadAll(string topic) =>
        TopicReader.ReadAll<string?>(BootstrapServers, topic, TimeSpan.FromSeconds(60)).Records;

    /// <summary>
    /// The changelog read back: every event, grouped by profile. The downstream view (highest version per profile,
    /// merged-away and erased ones dropped) as a canonical partition of <see cref="PartitionFiles"/>.
    /// </summary>
    public (Dictionary<string, List<long>> Versions, List<string> View) Changelog()
    {
        var versions = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        var latest = new Dictionary<string, ProfileEvent>(StringComparer.Ordinal);
        foreach (var record in ReadAll(Kafka.Topics.ProfileEvents))
        {
            var change = ProfileEvent.Parser.ParseFrom(record.Message.Value);
            Assert.Equal(change.ProfileId, record.Message.Key);
            (versions.TryGetValue(change.ProfileId, out var list) ? list : versions[change.ProfileId] = []).Add(change.Version);
            if (!latest.TryGetValue(change.ProfileId, out var seen) || seen.Version < change.Version)
            {
                latest[change.ProfileId] = change;
            }
        }

        var view = PartitionFiles.Canonical(latest.Values
            .Where(e => e.Profile is not null)
            .Select(e => e.Profile.Identifiers.Select(i => $"{IdentifierTypes.ShortName(i.Type)}|{i.Namespace}|{i.Value}")));
        return (versions, view);
    }

    public async ValueTask DisposeAsync()
    {
        if (serve is not null)
        {
            if (!serve.HasExited)
            {
                serve.Kill(entireProcessTree: true);
                await serve.WaitForExitAsync();
            }

            serve.Dispose();
        }

        await Broker.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is not worth failing a test over.
        }
    }
}
