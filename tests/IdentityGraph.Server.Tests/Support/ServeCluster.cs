using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace IdentityGraph.Server.Tests.Support;

/// <summary>
/// Several <c>identitygraph serve</c> processes forming one Akka cluster on one journal, against the rig's dev broker,
/// configured as the Helm chart configures its pods: a fixed remoting port per node (its stable address, kept across
/// restarts), every node listed as a seed (the first forms the cluster, the others join it), the same consumer group,
/// and — with <c>staticMembership</c> — a Kafka <c>group.instance.id</c> per node (<c>node-N</c>, kept across restarts,
/// as the chart passes the pod name). The processes belong to the rig: disposing it kills whatever still runs.
/// </summary>
public sealed class ServeCluster
{
    private readonly KafkaRig rig;
    private readonly string persistence;
    private readonly bool staticMembership;
    private readonly Func<int, IEnumerable<(string Name, string Value)>> settings;
    private readonly int[] remotingPorts;
    private readonly Process?[] processes;
    private readonly DateTime[] launchedAt;
    private readonly Uri[] http;

    /// <param name="settings">Extra environment (configuration) for node N, on every start of it.</param>
    public ServeCluster(
        KafkaRig rig,
        string persistence,
        int nodes,
        bool staticMembership = false,
        Func<int, IEnumerable<(string Name, string Value)>>? settings = null)
    {
        this.rig = rig;
        this.persistence = persistence;
        this.staticMembership = staticMembership;
        this.settings = settings ?? (_ => []);
        remotingPorts = [.. Enumerable.Range(0, nodes).Select(_ => KafkaRig.FreePort())];
        processes = new Process?[nodes];
        launchedAt = new DateTime[nodes];
        http = [.. Enumerable.Range(0, nodes).Select(_ => new Uri($"http://127.0.0.1:{KafkaRig.FreePort()}/"))];
    }

    public int Count => processes.Length;

    /// <summary>Node <paramref name="node"/>'s HTTP listener (API, /readyz, /metrics).</summary>
    public Uri Http(int node) => http[node];

    /// <summary>Node <paramref name="node"/>'s Akka remoting port (its address in the cluster).</summary>
    public int RemotingPort(int node) => remotingPorts[node];

    /// <summary>Node <paramref name="node"/>'s Kafka <c>group.instance.id</c>; null without static membership.</summary>
    public string? InstanceId(int node) => staticMembership ? $"node-{node}" : null;

    /// <summary>When node <paramref name="node"/>'s current process was started (UTC).</summary>
    public DateTime LaunchedAt(int node) => launchedAt[node];

    /// <summary>Starts every node at once, as the chart's StatefulSet does (podManagementPolicy Parallel), and waits until all are ready.</summary>
    public Task StartAllAsync() => Task.WhenAll(Enumerable.Range(0, Count).Select(StartAsync));

    /// <summary>Starts (or restarts) node <paramref name="node"/> on its own remoting port and waits for its /readyz.</summary>
    public Task StartAsync(int node)
    {
        Launch(node);
        return WaitReadyAsync(node, TimeSpan.FromSeconds(120));
    }

    /// <summary>Starts (or restarts) node <paramref name="node"/> without waiting for it; <see cref="LaunchedAt"/> says when.</summary>
    public void Launch(int node)
    {
        if (processes[node] is { HasExited: false })
        {
            throw new InvalidOperationException($"node {node} is running");
        }

        var seeds = remotingPorts.Select((port, i) => ($"IdentityGraph__Cluster__SeedNodes__{i}", $"akka.tcp://identitygraph@127.0.0.1:{port}"));
        var instance = InstanceId(node) is { } id ? [("IdentityGraph__Kafka__Ingestion__InstanceId", id)] : Array.Empty<(string, string)>();
        launchedAt[node] = DateTime.UtcNow;
        processes[node] = rig.StartProcess(
            ["serve", "--kafka", rig.BootstrapServers, "--persistence", persistence, "--http", http[node].ToString(), "--grpc", "none"],
            [
                ("IdentityGraph__Cluster__Hostname", "127.0.0.1"),
                ("IdentityGraph__Cluster__Port", remotingPorts[node].ToString(CultureInfo.InvariantCulture)),
                ("IdentityGraph__Kafka__Client__client.id", $"node-{node}"),
                .. seeds,
                .. instance,
                .. settings(node),
            ]);
    }

    /// <summary>Waits until node <paramref name="node"/> answers /readyz with 200; fails when it exits or <paramref name="limit"/> passes.</summary>
    public Task WaitReadyAsync(int node, TimeSpan limit) =>
        KafkaRig.WaitUntilReadyAsync(processes[node] ?? throw new InvalidOperationException($"node {node} is not running"), http[node], limit);

    /// <summary><c>kill -9</c> of node <paramref name="node"/>: no drain, no commit, no leaving the group or the cluster.</summary>
    public async Task KillAsync(int node)
    {
        var process = processes[node] ?? throw new InvalidOperationException($"node {node} is not running");
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        processes[node] = null;
    }

    /// <summary>SIGTERM to node <paramref name="node"/> (a rolling update's stop); returns its exit code.</summary>
    public async Task<int> StopAsync(int node, TimeSpan limit)
    {
        var process = processes[node] ?? throw new InvalidOperationException($"node {node} is not running");
        KafkaRig.Signal(process, "TERM");
        using var timeout = new CancellationTokenSource(limit);
        await process.WaitForExitAsync(timeout.Token);
        processes[node] = null;
        return process.ExitCode;
    }

    /// <summary>Node <paramref name="node"/>'s /metrics, parsed.</summary>
    public async Task<PrometheusText> MetricsAsync(int node)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return PrometheusText.Parse(await client.GetStringAsync(new Uri(http[node], "metrics")));
    }

    /// <summary>Node <paramref name="node"/>'s /metrics, or null while it does not answer (starting, or not running).</summary>
    public async Task<PrometheusText?> TryMetricsAsync(int node)
    {
        try
        {
            return await MetricsAsync(node);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Node <paramref name="node"/>'s /readyz: the status code and the checks; null while it does not answer.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Checks)?> ReadinessAsync(int node)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var response = await client.GetAsync(new Uri(http[node], "readyz"));
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return (response.StatusCode, body.RootElement.Clone());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }
}
