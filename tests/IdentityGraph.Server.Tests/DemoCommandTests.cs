using IdentityGraph.Server.Tests.Support;

namespace IdentityGraph.Server.Tests;

/// <summary>The README's main-job command, run as a process to its summary.</summary>
public sealed class DemoCommandTests
{
    [Fact]
    public async Task The_demo_streams_its_sample_through_kafka_and_prints_a_summary()
    {
        var data = Directory.CreateTempSubdirectory("identitygraph-demo-").FullName;
        try
        {
            var (exitCode, stdout, stderr) = await NormalizeCommandTests.RunExecutable(
                ["demo", "--once", "--observations", "600", "--customers", "200", "--kafka-port", "0",
                 "--http", $"http://127.0.0.1:{KafkaRig.FreePort()}", "--data", data],
                "",
                TimeSpan.FromMinutes(5));

            Assert.True(exitCode == 0, $"exit {exitCode}\n{stdout}\n{stderr}");
            Assert.Contains("observations streamed", stdout, StringComparison.Ordinal);
            Assert.Contains("profiles (customers found)", stdout, StringComparison.Ordinal);
            Assert.Contains("largest profiles", stdout, StringComparison.Ordinal);
            // The sample carries malformed records and placeholder e-mails: both are reported, neither stops the run.
            Assert.Matches(@"dead letters\s*│\s*[1-9]", stdout);
            Assert.Contains("identifier.placeholder", stdout, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(data, "identitygraph.db")));
            // Synthetic, but still: no identifier value is printed.
            Assert.DoesNotContain("@example.com", stdout.Replace("me@example.com", "", StringComparison.Ordinal), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
