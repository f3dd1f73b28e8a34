using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using IdentityGraph.Kafka;
using IdentityGraph.Server.Tests.Support;

namespace IdentityGraph.Server.Tests;

/// <summary><c>identitygraph kafka</c> as a developer runs it: the real executable, a real external client (kcat).</summary>
public sealed class KafkaCommandTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Kcat_produces_and_consumes_through_the_dev_broker_which_stops_cleanly_on_SIGTERM()
    {
        var kcat = Kcat();
        var port = FreePort();
        using var process = Process.Start(NormalizeCommandTests.StartInfo(["kafka", "--port", $"{port}", "--partitions", "3"]))!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var ready = new CancellationTokenSource(Patience);
            var line = await process.StandardOutput.ReadLineAsync(ready.Token);
            if (line is null)
            {
                Assert.Fail($"The broker ended without printing its bootstrap line; stderr: {await stderr}");
            }

            Assert.Equal($"bootstrap.servers=127.0.0.1:{port}", line);
            var bootstrap = line["bootstrap.servers=".Length..];

            const string Observation = """{"observationId":"kcat-1","observedAt":"2026-11-24T10:15:00Z","identifiers":[{"type":"IDENTIFIER_TYPE_EMAIL","value":"ann@shop.dk"}]}""";
            var produced = await Run(kcat, ["-b", bootstrap, "-t", Topics.Observations, "-P"], Observation + "\n");
            Assert.True(produced.ExitCode == 0, $"kcat -P failed: {produced.Stderr}");

            var metadata = await Run(kcat, ["-b", bootstrap, "-L", "-J", "-t", Topics.Observations]);
            Assert.True(metadata.ExitCode == 0, $"kcat -L failed: {metadata.Stderr}");
            using (var json = JsonDocument.Parse(metadata.Stdout))
            {
                var topic = json.RootElement.GetProperty("topics")[0];
                Assert.Equal(Topics.Observations, topic.GetProperty("topic").GetString());
                Assert.Equal(3, topic.GetProperty("partitions").GetArrayLength());
            }

            var consumed = await Run(kcat, ["-b", bootstrap, "-t", Topics.Observations, "-C", "-o", "beginning", "-e", "-q", "-f", "%s\\n"]);
            Assert.True(consumed.ExitCode == 0, $"kcat -C failed: {consumed.Stderr}");
            Assert.Equal([Observation], consumed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

            await Signal(process.Id, "TERM");
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(stopping.Token);
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}; stderr: {await stderr}");
            Assert.Equal("", await process.StandardOutput.ReadToEndAsync(stopping.Token));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Fact]
    public async Task A_taken_port_is_a_clear_error_with_exit_code_2()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;

        var (exitCode, stdout, stderr) = await NormalizeCommandTests.RunExecutable(["kafka", "--port", $"{port}"], "");

        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout);
        Assert.Contains($"127.0.0.1:{port} is already in use", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--port", "70000", "--port must be between 0 and 65535")]
    [InlineData("--brokers", "10", "--brokers must be between 1 and 9")]
    [InlineData("--partitions", "0", "--partitions must be between 1 and 1000")]
    public async Task Options_out_of_range_are_clear_errors_with_exit_code_2(string option, string value, string message)
    {
        var (exitCode, stdout, stderr) = await NormalizeCommandTests.RunExecutable(["kafka", option, value], "");

        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    /// <summary>The kcat executable; its absence fails the test with how to install it, never skips it.</summary>
    private static string Kcat()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "kcat"))
            .FirstOrDefault(File.Exists);
        Assert.True(path is not null, "kcat is not installed: run ./scripts/test.sh (installs it) or `apt-get install kcat`.");
        return path;
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task Signal(int pid, string signal)
    {
        var result = await Run("kill", [$"-{signal}", $"{pid}"]);
        Assert.True(result.ExitCode == 0, $"kill -{signal} {pid} failed: {result.Stderr}");
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> Run(string program, string[] args, string? stdin = null) =>
        ProcessRunner.RunAsync(program, args, stdin, Patience);
}
