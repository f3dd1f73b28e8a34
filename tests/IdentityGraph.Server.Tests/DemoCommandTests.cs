using System.Diagnostics;
using System.Text;
using System.Text.Json;
using IdentityGraph.Server.Tests.Support;

namespace IdentityGraph.Server.Tests;

/// <summary>The README's main-job command, run as a process: to its summary, then serving until Ctrl-C.</summary>
public sealed class DemoCommandTests
{
    [Fact]
    public async Task The_demo_streams_its_sample_through_kafka_prints_a_summary_and_serves_what_it_printed_until_ctrl_c()
    {
        var data = Directory.CreateTempSubdirectory("identitygraph-demo-").FullName;
        var start = NormalizeCommandTests.StartInfo(
            ["demo", "--observations", "600", "--customers", "200", "--kafka-port", "0",
             "--http", $"http://127.0.0.1:{KafkaRig.FreePort()}", "--grpc", $"http://127.0.0.1:{KafkaRig.FreePort()}", "--data", data]);
        using var demo = Process.Start(start)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        demo.ErrorDataReceived += (_, e) => stderr.Append(e.Data).Append('\n');
        demo.BeginErrorReadLine();
        try
        {
            using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5)))
            {
                while (await demo.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                {
                    stdout.Append(line).Append('\n');
                    if (line.StartsWith("Serving until Ctrl-C", StringComparison.Ordinal))
                    {
                        break;
                    }
                }
            }

            var output = stdout.ToString();
            Assert.True(output.Contains("Serving until Ctrl-C", StringComparison.Ordinal), $"{output}\n{stderr}");
            // Keep reading what it prints while it serves and stops: a pipe nobody reads fills up and blocks the
            // process on its next write; and a failed stop below shows all of it.
            var laterOutput = new StringBuilder();
            var drain = Task.Run(async () =>
            {
                while (await demo.StandardOutput.ReadLineAsync() is { } line)
                {
                    lock (laterOutput)
                    {
                        laterOutput.Append(line).Append('\n');
                    }
                }
            });
            Assert.Contains("observations streamed", output, StringComparison.Ordinal);
            // The demo runs on the public development secret, and says so.
            Assert.Contains(Configuration.IdentitySettings.DevelopmentSecretWarning, stderr.ToString(), StringComparison.Ordinal);
            Assert.Contains("profiles (customers found)", output, StringComparison.Ordinal);
            Assert.Contains("largest profiles", output, StringComparison.Ordinal);
            // The sample carries malformed records and placeholder e-mails: both are reported, neither stops the run.
            Assert.Matches(@"dead letters\s*│\s*[1-9]", output);
            Assert.Contains("identifier.placeholder", output, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(data, "identitygraph.db")));
            // Synthetic, but still: no identifier value is printed.
            Assert.DoesNotContain("@example.com", output.Replace("me@example.com", "", StringComparison.Ordinal), StringComparison.Ordinal);

            // The profile URL it printed answers with that profile, while it keeps serving.
            var url = output.Split('\n').Single(l => l.TrimStart().StartsWith("a profile:", StringComparison.Ordinal)).Split(' ').Last();
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var profile = JsonDocument.Parse(await client.GetStringAsync(new Uri(url))).RootElement;
            Assert.Equal(url.Split('/').Last(), profile.GetProperty("profileId").GetString());
            Assert.True(profile.GetProperty("identifiers").GetArrayLength() >= 2);

            // Ctrl-C: a graceful stop with exit code 0. A process started from a background job inherits SIGINT ignored
            // (POSIX), and .NET then leaves it ignored; SIGTERM takes the same stop path, so send that there.
            var signal = SigIntIgnored() ? "-TERM" : "-INT";
            using (var kill = Process.Start(new ProcessStartInfo("kill", [signal, demo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!)
            {
                await kill.WaitForExitAsync();
            }

            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await demo.WaitForExitAsync(stopping.Token);
            }
            catch (OperationCanceledException)
            {
                // Say what it printed: a stop that never ends is a bug to find.
                lock (laterOutput)
                {
                    Assert.Fail($"the demo did not exit within 60 s of {signal}\n--- stdout ---\n{stdout}{laterOutput}\n--- stderr ---\n{stderr}");
                }
            }

            await drain;

            Assert.True(demo.ExitCode == 0, $"exit {demo.ExitCode}\n{stderr}");
        }
        finally
        {
            if (!demo.HasExited)
            {
                demo.Kill(entireProcessTree: true);
            }

            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>Whether this process ignores SIGINT (bit 2 of SigIgn in /proc/self/status), as its children will.</summary>
    private static bool SigIntIgnored()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null &&
            (ulong.Parse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture) & 0b10) != 0;
    }

    [Fact]
    public async Task With_once_the_demo_exits_after_its_summary()
    {
        var data = Directory.CreateTempSubdirectory("identitygraph-demo-").FullName;
        try
        {
            var (exitCode, stdout, stderr) = await NormalizeCommandTests.RunExecutable(
                ["demo", "--once", "--observations", "200", "--customers", "80", "--kafka-port", "0",
                 "--http", $"http://127.0.0.1:{KafkaRig.FreePort()}", "--grpc", "none", "--data", data],
                "",
                TimeSpan.FromMinutes(5));

            Assert.True(exitCode == 0, $"exit {exitCode}\n{stdout}\n{stderr}");
            Assert.Contains("observations streamed", stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("Serving until Ctrl-C", stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("gRPC Lookup", stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
