using System.Diagnostics;
using System.Globalization;

namespace IdentityGraph.Server.Tests.Support;

/// <summary>
/// Several <c>identitygraph serve</c> processes forming one Akka cluster on one journal, against the rig's dev broker,
/// configured as the Helm chart configures its pods: a fixed remoting port per node (its stable address, kept across
/// restarts), every node listed as a seed (the first forms the cluster, the others join it), the same consumer group.
/// The processes belong to the rig: disposing it kills whatever still runs.
/// </summary>
public sealed class ServeCluster
{
    private readonly KafkaRig rig;
    private readonly string persistence;
    private readonly int[] remotingPorts;
    private readonly Process?[] processes;
    private readonly Uri[] http;

    public ServeCluster(KafkaRig rig, string persistence, int nodes)
    {
        this.rig = rig;
        this.persistence = persistence;
        remotingPorts = [.. Enumerable.Range(0, nodes).Select(_ => KafkaRig.FreePort())];
        processes = new Process?[nodes];
        http = [.. Enumerable.Range(0, nodes).Select(_ => new Uri($"http://127.0.0.1:{KafkaRig.FreePort()}/"))];
    }

    public int Count => processes.Length;

    /// <summary>Node <paramref name="node"/>'s HTTP listener (API, /readyz, /metrics).</summary>
    public Uri Http(int node) => http[node];

    /// <summary>Starts every node at once, as the chart's StatefulSet does (podManagementPolicy Parallel), and waits until all are ready.</summary>
    public Task StartAllAsync() => Task.WhenAll(Enumerable.Range(0, Count).Select(StartAsync));

    /// <summary>Starts (or restarts) node <paramref name="node"/> on its own remoting port and waits for its /readyz.</summary>
    public Task StartAsync(int node)
    {
        if (processes[node] is { HasExited: false })
        {
            throw new InvalidOperationException($"node {node} is running");
        }

        var seeds = remotingPorts.Select((port, i) => ($"IdentityGraph__Cluster__SeedNodes__{i}", $"akka.tcp://identitygraph@127.0.0.1:{port}"));
        var process = rig.StartProcess(
            ["serve", "--kafka", rig.BootstrapServers, "--persistence", persistence, "--http", http[node].ToString(), "--grpc", "none"],
            [
                ("IdentityGraph__Cluster__Hostname", "127.0.0.1"),
                ("IdentityGraph__Cluster__Port", remotingPorts[node].ToString(CultureInfo.InvariantCulture)),
                ("IdentityGraph__Kafka__Client__client.id", $"node-{node}"),
                .. seeds,
            ]);
        processes[node] = process;
        return KafkaRig.WaitUntilReadyAsync(process, http[node], TimeSpan.FromSeconds(120));
    }

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
}
