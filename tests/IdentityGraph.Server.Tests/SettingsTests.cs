using IdentityGraph.Server.Configuration;
using IdentityGraph.Server.Tests.Support;

namespace IdentityGraph.Server.Tests;

/// <summary>Every setting is documented, and a mistyped one is refused with the setting it probably meant.</summary>
public sealed class SettingsTests
{
    [Fact]
    public void The_catalog_holds_the_settings_of_every_section()
    {
        foreach (var key in new[]
        {
            "IdentityGraph:Persistence", "IdentityGraph:Http:Url", "IdentityGraph:Http:GrpcUrl", "IdentityGraph:Api:Key",
            "IdentityGraph:Identity:KeySecret", "IdentityGraph:Kafka:BootstrapServers", "IdentityGraph:Kafka:Ingestion:MaxInFlight",
            "IdentityGraph:Kafka:Client:security.protocol", "IdentityGraph:Cluster:SeedNodes:0", "identitygraph:kafka:outbox:format",
        })
        {
            Assert.True(SettingsCatalog.IsKnown(key), key);
        }

        foreach (var key in new[] { "IdentityGraph:Kafka:BootstrapServer", "IdentityGraph:Cluster:SeedNodes:first", "IdentityGraph:Http", "IdentityGraph:Kafka:Client" })
        {
            Assert.False(SettingsCatalog.IsKnown(key), key);
        }
    }

    [Fact]
    public void The_readme_documents_every_setting()
    {
        var readme = File.ReadAllText(Path.Combine(ProcessRunner.RepositoryRoot(), "README.md"));
        var missing = SettingsCatalog.All
            .Select(s => s.Key.Replace("<n>", "", StringComparison.Ordinal).Replace("<key>", "", StringComparison.Ordinal).TrimEnd(':'))
            .Where(key => !readme.Contains("`" + key, StringComparison.Ordinal))
            .ToList();
        Assert.True(missing.Count == 0, "README.md does not document: " + string.Join(", ", missing));
    }

    [Fact]
    public async Task A_mistyped_setting_stops_the_program_with_the_setting_it_probably_meant()
    {
        var (exitCode, _, stderr) = await NormalizeCommandTests.RunExecutable(
            ["settings", "--check"], "", ("IdentityGraph__Kafka__BootstrapServer", "kafka:9092"));

        Assert.Equal(2, exitCode);
        Assert.Contains("IdentityGraph:Kafka:BootstrapServer is not a setting; did you mean IdentityGraph:Kafka:BootstrapServers?", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_valid_configuration_checks_out_and_invalid_values_are_named()
    {
        var (ok, stdout, _) = await NormalizeCommandTests.RunExecutable(
            ["settings", "--check"], "",
            ("IdentityGraph__Kafka__BootstrapServers", "kafka:9092"), ("IdentityGraph__Identity__KeySecret", "a-secret-of-enough-bytes"),
            ("IdentityGraph__Kafka__Client__security.protocol", "SASL_SSL"), ("IdentityGraph__Cluster__SeedNodes__0", "akka.tcp://identitygraph@seed:4053"));
        Assert.Equal(0, ok);
        Assert.Contains("configuration ok", stdout, StringComparison.Ordinal);

        var (bad, _, stderr) = await NormalizeCommandTests.RunExecutable(
            ["settings", "--check"], "", ("IdentityGraph__Kafka__Ingestion__MaxInFlight", "0"), ("IdentityGraph__Identity__KeySecret", "short"));
        Assert.Equal(2, bad);
        Assert.Contains("IdentityGraph:Kafka:Ingestion:MaxInFlight must be between 1 and 100000", stderr, StringComparison.Ordinal);
        Assert.Contains("IdentityGraph:Identity:KeySecret must be at least 16 bytes", stderr, StringComparison.Ordinal);

        var (open, _, openError) = await NormalizeCommandTests.RunExecutable(
            ["settings", "--check"], "", ("IdentityGraph__Http__Url", "http://0.0.0.0:8080"));
        Assert.Equal(2, open);
        Assert.Contains("IdentityGraph:Api:Key is required when a listener is beyond loopback (http://0.0.0.0:8080/)", openError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_list_names_each_setting_with_its_environment_variable_and_default()
    {
        var (exitCode, stdout, _) = await NormalizeCommandTests.RunExecutable(["settings"], "");

        Assert.Equal(0, exitCode);
        Assert.Contains("IdentityGraph:Kafka:Ingestion:MaxInFlight\tIdentityGraph__Kafka__Ingestion__MaxInFlight\t512", stdout, StringComparison.Ordinal);
        Assert.Contains("IdentityGraph:Http:Url\tIdentityGraph__Http__Url\thttp://127.0.0.1:8080", stdout, StringComparison.Ordinal);
    }
}
