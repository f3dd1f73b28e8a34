using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Confluent.Kafka;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;

namespace IdentityGraph.Server.Tests.Support;

/// <summary>
/// Out-of-process end-to-end rig: the dev broker and <c>serve</c> run as real <c>identitygraph</c> processes, Debian's
/// <c>kcat</c> produces (a client that is not ours), and a plain Kafka consumer reads the output topics back.
/// </summary>
public sealed class KafkaRig : IAsyncDisposable
{
    private readonly List<Process> processes = [];
    private Process? broker;

    private KafkaRig(string directory) => Directory = directory;

    /// <summary>A temporary directory for the database and input files; deleted on dispose.</summary>
    public string Directory { get; }

    public string BootstrapServers { get; private set; } = "";

    public Process? Serve { get; private set; }

    public Uri? Http { get; private set; }

    public Uri? Grpc { get; private set; }

    public string DatabasePath => Path.Combine(Directory, "graph.db");

    /// <summary>Starts <c>identitygraph kafka</c> on free ports and waits for its bootstrap line.</summary>
    public static async Task<KafkaRig> StartBrokerAsync(int partitions = 4)
    {
        Kcat.EnsureInstalled();
        var rig = new KafkaRig(System.IO.Directory.CreateTempSubdirectory("identitygraph-kafka-").FullName);
        var broker = rig.StartProcess(["kafka", "--port", "0", "--partitions", partitions.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        rig.broker = broker;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await broker.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("bootstrap.servers=", StringComparison.Ordinal))
            {
                rig.BootstrapServers = line["bootstrap.servers=".Length..];
                return rig;
            }
        }

        throw new InvalidOperationException("identitygraph kafka exited without printing its bootstrap servers: " + await broker.StandardError.ReadToEndAsync());
    }

    /// <summary>
    /// Starts <c>identitygraph serve</c> against the broker and the rig's SQLite file, HTTP and gRPC on free ports, with
    /// the given extra environment; waits for /readyz.
    /// </summary>
    public async Task StartServeAsync(params (string Name, string Value)[] environment)
    {
        Http = new Uri($"http://127.0.0.1:{FreePort()}/");
        Grpc = new Uri($"http://127.0.0.1:{FreePort()}/");
        Serve = StartProcess(
            ["serve", "--kafka", BootstrapServers, "--persistence", "sqlite:" + DatabasePath, "--http", Http.ToString(), "--grpc", Grpc.ToString()],
            environment);
        await WaitUntilReadyAsync(Serve, Http, TimeSpan.FromSeconds(90));
    }

    /// <summary>Polls <paramref name="http"/>/readyz until it answers 200; fails when the process exits or <paramref name="limit"/> passes.</summary>
    internal static async Task WaitUntilReadyAsync(Process serve, Uri http, TimeSpan limit)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (serve.HasExited)
            {
                throw new InvalidOperationException($"serve exited with {serve.ExitCode}");
            }

            try
            {
                if ((await client.GetAsync(new Uri(http, "readyz"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"serve did not become ready within {limit.TotalSeconds} s");
    }

    /// <summary>Sends SIGTERM to <c>serve</c> and returns its exit code.</summary>
    public async Task<int> StopServeAsync(TimeSpan limit)
    {
        var serve = Serve ?? throw new InvalidOperationException("serve is not running");
        Signal(serve, "TERM");
        using var timeout = new CancellationTokenSource(limit);
        await serve.WaitForExitAsync(timeout.Token);
        Serve = null;
        return serve.ExitCode;
    }

    /// <summary><c>kill -9</c> of the dev broker: Kafka is gone for every client.</summary>
    public async Task KillBrokerAsync()
    {
        var process = broker ?? throw new InvalidOperationException("no broker");
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
    }

    /// <summary><c>kill -9</c> of <c>serve</c>: no drain, no commit, no flush.</summary>
    public async Task KillServeAsync()
    {
        var serve = Serve ?? throw new InvalidOperationException("serve is not running");
        serve.Kill(entireProcessTree: true);
        await serve.WaitForExitAsync();
        Serve = null;
    }

    /// <summary>The graph's own view: <c>identitygraph export</c> of the rig's database (or <paramref name="persistence"/>), as a canonical partition.</summary>
    public async Task<List<string>> ExportAsync(string? persistence = null)
    {
        var output = Path.Combine(Directory, "export.jsonl");
        var (exitCode, _, stderr) = await NormalizeCommandTests.RunExecutable(["export", "--out", output, "--persistence", persistence ?? "sqlite:" + DatabasePath], "");
        Assert.True(exitCode == 0, stderr);
        return PartitionFiles.Export(await File.ReadAllLinesAsync(output));
    }

    /// <summary>Reads every record of <paramref name="topic"/> that is there now: up to each partition's high watermark.</summary>
    public List<ConsumeResult<string?, byte[]?>> ReadAll(string topic) =>
        TopicReader.ReadAll<string?>(BootstrapServers, topic, TimeSpan.FromSeconds(60)).Records;

    /// <summary>
    /// The downstream view a consumer of <c>identity.profile-events</c> builds: the highest version per profile, merged-away
    /// and erased ones dropped; as the canonical partition of <see cref="PartitionFiles"/>. Reads what is on the topic now.
    /// </summary>
    public List<string> DownstreamView()
    {
        var latest = new Dictionary<string, ProfileEvent>(StringComparer.Ordinal);
        foreach (var record in ReadAll(Kafka.Topics.ProfileEvents))
        {
            var change = ProfileEvent.Parser.ParseFrom(record.Message.Value);
            Assert.Equal(change.ProfileId, record.Message.Key);
            if (!latest.TryGetValue(change.ProfileId, out var seen) || seen.Version < change.Version)
            {
                latest[change.ProfileId] = change;
            }
        }

        return PartitionFiles.Canonical(latest.Values
            .Where(e => e.Profile is not null)
            .Select(e => e.Profile.Identifiers.Select(i => $"{IdentifierTypes.ShortName(i.Type)}|{i.Namespace}|{i.Value}")));
    }

    /// <summary>Polls <see cref="DownstreamView"/> until it equals <paramref name="expected"/> or <paramref name="limit"/> passes.</summary>
    public async Task<List<string>> WaitForViewAsync(List<string> expected, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var view = await Task.Run(DownstreamView);
            if (view.SequenceEqual(expected) || DateTime.UtcNow > deadline)
            {
                return view;
            }

            await Task.Delay(1000);
        }
    }

    /// <summary>Starts an <c>identitygraph</c> process that the rig owns (killed on dispose), its stderr into <see cref="Log"/>.</summary>
    internal Process StartProcess(string[] args, params (string Name, string Value)[] environment)
    {
        var start = NormalizeCommandTests.StartInfo(args);
        start.Environment["IdentityGraph__Kafka__Client__client.id"] = "e2e";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        processes.Add(process);
        if (args[0] != "kafka")
        {
            // Keep the pipes drained so a chatty process never blocks on a full pipe.
            process.OutputDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
        }

        process.ErrorDataReceived += (_, e) => Log.Append(e.Data).Append('\n');
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Everything the processes wrote to stderr, for failure messages.</summary>
    public StringBuilder Log { get; } = new();

    internal static void Signal(Process process, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!;
        kill.WaitForExit();
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

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

/// <summary>Debian's kcat, the external producer of the end-to-end tests.</summary>
public static class Kcat
{
    public static void EnsureInstalled()
    {
        try
        {
            using var probe = Process.Start(new ProcessStartInfo("kcat", ["-V"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            probe.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("kcat is not installed: run ./scripts/test.sh (it installs the Debian package) or `apt-get install kcat`.");
        }
    }

    /// <summary>Produces each line of <paramref name="lines"/> as one record, with the given headers.</summary>
    public static async Task ProduceLinesAsync(string bootstrap, string topic, IEnumerable<string> lines, params string[] headers)
    {
        var args = new List<string> { "-P", "-b", bootstrap, "-t", topic, "-X", "message.max.bytes=10000000" };
        foreach (var header in headers)
        {
            args.AddRange(["-H", header]);
        }

        await RunAsync(args, string.Join("\n", lines) + "\n");
    }

    /// <summary>Produces each file as one record, bytes untouched.</summary>
    public static Task ProduceFilesAsync(string bootstrap, string topic, IEnumerable<string> files) =>
        RunAsync(["-P", "-b", bootstrap, "-t", topic, "-X", "message.max.bytes=10000000", .. files], "");

    private static async Task RunAsync(IEnumerable<string> args, string stdin)
    {
        var start = new ProcessStartInfo("kcat", args)
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"kcat failed ({process.ExitCode}): {await stderr}");
    }
}
