using System.Text.Json;
using System.Text.RegularExpressions;
using IdentityGraph.Server.Configuration;
using IdentityGraph.Server.Tests.Support;

namespace IdentityGraph.Server.Tests;

/// <summary>
/// The Helm chart (helm/identitygraph) rendered by the real helm: it lints, refuses to render without what is
/// required, and every setting it gives the pods is one the program reads and accepts (checked by the program
/// itself, <c>identitygraph settings --check</c>, with the rendered environment). helm missing fails, never skips.
/// </summary>
public sealed partial class HelmChartTests
{
    private const string Release = "ig";
    private const string Namespace = "retail";

    /// <summary>
    /// The metric names the program exposes (the metrics contract, issue 5): the alert rules and the dashboard may use
    /// no other <c>identitygraph_</c> series. Histograms also have <c>_bucket</c>, <c>_sum</c> and <c>_count</c>.
    /// </summary>
    internal static readonly HashSet<string> ExposedMetrics =
    [
        "identitygraph_observations_total",
        "identitygraph_observation_processing_seconds",
        "identitygraph_merges_total",
        "identitygraph_merge_fan_in",
        "identitygraph_profile_identifiers",
        "identitygraph_dead_letters_total",
        "identitygraph_identifiers_dropped_total",
        "identitygraph_outbox_published_total",
        "identitygraph_outbox_lag_events",
        "identitygraph_outbox_lag_seconds",
        "identitygraph_outbox_failing",
        "identitygraph_outbox_failures_total",
        "identitygraph_outbox_dead_letters_total",
        "identitygraph_consumer_lag",
        "identitygraph_active_entities",
        "identitygraph_cluster_members",
        "identitygraph_ingestion_running",
        "identitygraph_assigned_partitions",
        "identitygraph_topic_partitions",
    ];

    private static readonly string Chart = Path.Combine(RepositoryRoot(), "helm", "identitygraph");
    private static readonly string MinimalValues = Path.Combine(Chart, "ci", "test-values.yaml");
    private static readonly string FullValues = Path.Combine(Chart, "ci", "full-values.yaml");

    [Fact]
    public async Task Lint_passes_with_the_required_values_and_with_everything_enabled()
    {
        var minimal = await Helm("lint", Chart, "--strict", "-f", MinimalValues);
        Assert.True(minimal.ExitCode == 0, minimal.Stdout + minimal.Stderr);
        var full = await Helm("lint", Chart, "--strict", "-f", MinimalValues, "-f", FullValues);
        Assert.True(full.ExitCode == 0, full.Stdout + full.Stderr);
    }

    [Theory]
    [InlineData("identity.keySecret.secretName=", "identity.keySecret.secretName is required")]
    [InlineData("api.key.secretName=", "api.key.secretName is required")]
    [InlineData("kafka.bootstrapServers=", "kafka.bootstrapServers is required")]
    [InlineData("persistence.postgres.host=", "persistence is required")]
    [InlineData("persistence.postgres.password.secretName=", "persistence.postgres.password.secretName is required")]
    [InlineData("kafka.sasl.secretName=identitygraph-kafka-sasl", "kafka.securityProtocol must be SASL_SSL or SASL_PLAINTEXT")]
    [InlineData("terminationGracePeriodSeconds=30", "must exceed the app's 45 s graceful shutdown budget")]
    [InlineData("cluster.seedCount=4", "cluster.seedCount must be between 1 and replicaCount (3)")]
    public async Task Rendering_without_a_required_value_fails_naming_it(string set, string message)
    {
        var result = await Helm("template", Release, Chart, "-f", MinimalValues, "--set", set);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_IdentityGraph_variable_is_a_setting_the_program_reads()
    {
        var chart = await Render([FullValues]);
        var names = chart.ConfigMapData.Keys.Concat(chart.Env.Select(e => e.Name))
            .Where(n => n.StartsWith("IdentityGraph__", StringComparison.Ordinal))
            .ToList();

        var unknown = names.Where(n => !SettingsCatalog.IsKnown(n.Replace("__", ":", StringComparison.Ordinal))).ToList();
        Assert.True(unknown.Count == 0, "not settings of the program: " + string.Join(", ", unknown));
        // Not vacuous: the wiring the chart exists for is all there.
        Assert.Superset(
            new HashSet<string>(
            [
                "IdentityGraph__Identity__KeySecret", "IdentityGraph__Api__Key", "IdentityGraph__Persistence",
                "IdentityGraph__Http__Url", "IdentityGraph__Http__GrpcUrl", "IdentityGraph__Cluster__Hostname",
                "IdentityGraph__Cluster__PublicHostname", "IdentityGraph__Cluster__Port", "IdentityGraph__Cluster__ShardCount",
                "IdentityGraph__Cluster__SeedNodes__0", "IdentityGraph__Kafka__BootstrapServers",
                "IdentityGraph__Kafka__Client__security.protocol", "IdentityGraph__Kafka__Client__sasl.mechanism",
                "IdentityGraph__Kafka__Client__sasl.username", "IdentityGraph__Kafka__Client__sasl.password",
                "IdentityGraph__Kafka__Client__ssl.ca.location", "IdentityGraph__Kafka__Client__ssl.certificate.location",
                "IdentityGraph__Kafka__Client__ssl.key.location", "IdentityGraph__Identity__DefaultPhoneRegion",
                "IdentityGraph__Kafka__Ingestion__Topics__0",
            ]),
            names.ToHashSet());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_program_accepts_the_rendered_configuration(bool everything)
    {
        var chart = await Render(everything ? [FullValues] : []);
        var environment = chart.ContainerEnvironment(secret => secret switch
        {
            ("identitygraph-identity", "key-secret") => "a-placeholder-hmac-secret-of-32-bytes",
            ("identitygraph-api", "api-key") => "a-placeholder-api-key",
            _ => "placeholder",
        });

        var (exitCode, stdout, stderr) = await NormalizeCommandTests.RunExecutable(
            ["settings", "--check"], "", [.. environment.Select(p => (p.Key, p.Value))]);

        Assert.True(exitCode == 0, $"settings --check exited {exitCode}: {stderr}");
        Assert.Contains("configuration ok", stdout, StringComparison.Ordinal);
        Assert.Equal($"{Release}-identitygraph-0.{Release}-identitygraph-headless.{Namespace}.svc.cluster.local", environment["IdentityGraph__Cluster__PublicHostname"]);
        Assert.StartsWith("postgres:Host=postgres.databases.svc;Port=5432;Database=identitygraph;Username=identitygraph;Password=placeholder", environment["IdentityGraph__Persistence"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pods_expose_http_grpc_and_remoting_probe_health_and_readiness_and_outlast_the_shutdown_budget()
    {
        var chart = await Render([]);
        var statefulSet = chart.Document("StatefulSet");

        Assert.Equal(
            new[] { ("http", 8080), ("grpc", 8081), ("remoting", 4053) },
            PortPattern().Matches(statefulSet).Select(m => (m.Groups[1].Value, int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture))));
        Assert.Equal("/healthz", ProbePath(statefulSet, "startupProbe"));
        Assert.Equal("/healthz", ProbePath(statefulSet, "livenessProbe"));
        Assert.Equal("/readyz", ProbePath(statefulSet, "readinessProbe"));
        Assert.True(int.Parse(Field(statefulSet, "terminationGracePeriodSeconds"), System.Globalization.CultureInfo.InvariantCulture) > 45);
        Assert.Contains("args: [\"serve\"]", statefulSet, StringComparison.Ordinal);

        var headless = chart.Document("Service", $"{Release}-identitygraph-headless");
        Assert.Equal($"{Release}-identitygraph-headless", Field(statefulSet, "serviceName"));
        Assert.Equal("None", Field(headless, "clusterIP"));
        Assert.Equal("true", Field(headless, "publishNotReadyAddresses"));
        Assert.Contains("name: remoting", headless, StringComparison.Ordinal);
        var api = chart.Document("Service", $"{Release}-identitygraph");
        Assert.Contains("name: http", api, StringComparison.Ordinal);
        Assert.Contains("name: grpc", api, StringComparison.Ordinal);
        Assert.DoesNotContain("remoting", api, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 3)]
    [InlineData(5, 3)]
    public async Task Seed_nodes_are_the_first_pods_by_their_DNS_names(int replicas, int seeds)
    {
        var chart = await Render([], "--set", $"replicaCount={replicas}");
        var expected = Enumerable.Range(0, seeds)
            .Select(i => $"akka.tcp://identitygraph@{Release}-identitygraph-{i}.{Release}-identitygraph-headless.{Namespace}.svc.cluster.local:4053");
        var actual = chart.ConfigMapData.Where(p => p.Key.StartsWith("IdentityGraph__Cluster__SeedNodes__", StringComparison.Ordinal))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => p.Value);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Secrets_are_referenced_never_rendered()
    {
        var chart = await Render([FullValues]);

        Assert.DoesNotContain("kind: Secret", chart.Output, StringComparison.Ordinal);
        string[] secretSettings =
        [
            "IdentityGraph__Identity__KeySecret", "IdentityGraph__Api__Key", "PG_PASSWORD",
            "IdentityGraph__Kafka__Client__sasl.username", "IdentityGraph__Kafka__Client__sasl.password",
        ];
        foreach (var name in secretSettings)
        {
            Assert.Equal("secretKeyRef", chart.Env.Single(e => e.Name == name).Source);
            Assert.False(chart.ConfigMapData.ContainsKey(name), $"{name} is in the ConfigMap");
        }

        // The persistence setting is built from its parts with the password substituted by Kubernetes.
        Assert.Contains("Password=$(PG_PASSWORD)", chart.Env.Single(e => e.Name == "IdentityGraph__Persistence").Value, StringComparison.Ordinal);
        foreach (var configMap in chart.Documents("ConfigMap"))
        {
            Assert.DoesNotMatch(SecretLookingPattern(), configMap);
        }
    }

    [Fact]
    public async Task Alert_rules_and_dashboard_use_only_metrics_the_program_exposes()
    {
        var chart = await Render([FullValues]);
        var rules = chart.Document("PrometheusRule");
        var dashboard = chart.Document("ConfigMap", $"{Release}-identitygraph-dashboard");

        Assert.Equal(7, AlertPattern().Count(rules));
        var json = dashboard[(dashboard.IndexOf("identitygraph.json: |-", StringComparison.Ordinal) + "identitygraph.json: |-".Length)..];
        using var parsed = JsonDocument.Parse(json);
        Assert.True(parsed.RootElement.GetProperty("panels").GetArrayLength() >= 10);
        Assert.Contains("grafana_dashboard: \"1\"", dashboard, StringComparison.Ordinal);

        var used = MetricPattern().Matches(rules + json)
            .Select(m => HistogramSuffixPattern().Replace(m.Value, ""))
            .ToHashSet();
        Assert.Subset(ExposedMetrics, used);
        Assert.Contains("identitygraph_consumer_lag", used);
    }

    [Fact]
    public async Task Every_value_is_commented_in_values_yaml_and_in_the_README_table()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "helm", "README.md"));
        var lines = await File.ReadAllLinesAsync(Path.Combine(Chart, "values.yaml"));
        var path = new List<(int Indent, string Key, bool Commented)>();
        var values = new List<string>();
        var undocumented = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var key = ValuesKeyPattern().Match(lines[i]);
            if (!key.Success)
            {
                continue;
            }

            var indent = key.Groups[1].Length;
            path.RemoveAll(p => p.Indent >= indent);
            path.Add((indent, key.Groups[2].Value, i > 0 && lines[i - 1].TrimStart().StartsWith('#')));
            if (key.Groups[3].Value.Trim().Length == 0)
            {
                continue; // a section: its values are checked one by one
            }

            // A value is documented by its own row or comment, or by an enclosing one's (resources, probes.startup).
            var prefixes = Enumerable.Range(1, path.Count).Select(n => string.Join('.', path.Take(n).Select(p => p.Key))).ToList();
            values.Add(prefixes[^1]);
            if (!prefixes.Any(p => readme.Contains($"| `{p}` |", StringComparison.Ordinal)))
            {
                undocumented.Add(prefixes[^1] + " (no row in helm/README.md)");
            }

            if (!path.Any(p => p.Commented))
            {
                undocumented.Add(prefixes[^1] + " (no comment in values.yaml)");
            }
        }

        Assert.Contains("cluster.shardCount", values);
        Assert.Contains("metrics.prometheusRule.outboxLag.thresholdSeconds", values);
        Assert.Empty(undocumented);
    }

    // ----- helm -----------------------------------------------------------------------------------------------

    /// <summary>helm template with ci/test-values.yaml, then <paramref name="valuesFiles"/> and <paramref name="extra"/>.</summary>
    private static async Task<RenderedChart> Render(string[] valuesFiles, params string[] extra)
    {
        string[] args = ["template", Release, Chart, "--namespace", Namespace, "-f", MinimalValues, .. valuesFiles.SelectMany(f => new[] { "-f", f }), .. extra];
        var result = await Helm(args);
        Assert.True(result.ExitCode == 0, $"helm template failed: {result.Stderr}");
        return new RenderedChart(result.Stdout, $"{Release}-identitygraph");
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> Helm(params string[] args) =>
        ProcessRunner.RunAsync(HelmExecutable(), args, null, TimeSpan.FromMinutes(1));

    /// <summary>helm from <c>HELM</c> (scripts/test.sh sets it), else from PATH; missing fails the test, never skips it.</summary>
    private static string HelmExecutable()
    {
        var configured = Environment.GetEnvironmentVariable("HELM");
        var path = !string.IsNullOrEmpty(configured) && File.Exists(configured)
            ? configured
            : (Environment.GetEnvironmentVariable("PATH") ?? "")
                .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, "helm"))
                .FirstOrDefault(File.Exists);
        Assert.True(path is not null, "helm is not installed: run ./scripts/test.sh (it installs helm and sets HELM), or put helm on PATH.");
        return path;
    }

    private static string RepositoryRoot() => ProcessRunner.RepositoryRoot();

    /// <summary>The first <c>KEY: value</c> in a document (keys here are unique enough: serviceName, clusterIP, …).</summary>
    private static string Field(string document, string key) =>
        Regex.Match(document, $@"^\s*{Regex.Escape(key)}: (.+)$", RegexOptions.Multiline) is { Success: true } m
            ? RenderedChart.Unquote(m.Groups[1].Value)
            : throw new InvalidOperationException($"{key} not found");

    private static string ProbePath(string statefulSet, string probe) =>
        Regex.Match(statefulSet, $@"^\s*{probe}:\n\s*httpGet:\n\s*path: (\S+)\n\s*port: http$", RegexOptions.Multiline).Groups[1].Value;

    [GeneratedRegex(@"^\s*- name: (\w+)\n\s*containerPort: (\d+)$", RegexOptions.Multiline)]
    private static partial Regex PortPattern();

    [GeneratedRegex(@"^( *)([A-Za-z_][\w.-]*):(.*)$")]
    private static partial Regex ValuesKeyPattern();

    [GeneratedRegex(@"^\s*- alert: ", RegexOptions.Multiline)]
    private static partial Regex AlertPattern();

    [GeneratedRegex(@"\bidentitygraph_[a-z_]+")]
    private static partial Regex MetricPattern();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex HistogramSuffixPattern();

    [GeneratedRegex(@"(?i)password=(?!\$\()|-----BEGIN|secret: ")]
    private static partial Regex SecretLookingPattern();
}

/// <summary>One env entry of the container: its name, its literal value, or where its value comes from.</summary>
/// <param name="Source">"value", "secretKeyRef" or "fieldRef".</param>
/// <param name="Reference">The secret (name, key) or the field path, for the non-literal sources.</param>
internal sealed record EnvEntry(string Name, string Source, string Value, (string Name, string Key) Reference);

/// <summary>
/// The output of <c>helm template</c>, read with a few line patterns: there is no YAML library in the solution, and
/// the chart's output is regular (helm's toYaml and our templates), so documents, ConfigMap data and the container's
/// env list are all that is needed.
/// </summary>
internal sealed partial class RenderedChart
{
    private readonly string fullname;

    /// <param name="fullname">The chart's resource name (the settings ConfigMap, the StatefulSet).</param>
    public RenderedChart(string output, string fullname)
    {
        this.fullname = fullname;
        Output = output;
        AllDocuments = DocumentSeparator().Split(output).Where(d => KindPattern().IsMatch(d)).ToList();
        var settings = Document("ConfigMap", fullname);
        ConfigMapData = DataPattern().Matches(settings[settings.IndexOf("\ndata:\n", StringComparison.Ordinal)..])
            .ToDictionary(m => m.Groups[1].Value, m => Unquote(m.Groups[2].Value), StringComparer.Ordinal);
        Env = ParseEnv(Document("StatefulSet"));
    }

    public string Output { get; }

    public IReadOnlyList<string> AllDocuments { get; }

    /// <summary>The settings ConfigMap's data (the container's envFrom).</summary>
    public IReadOnlyDictionary<string, string> ConfigMapData { get; }

    /// <summary>The container's env list, in order.</summary>
    public IReadOnlyList<EnvEntry> Env { get; }

    public IEnumerable<string> Documents(string kind) =>
        AllDocuments.Where(d => KindPattern().Match(d).Groups[1].Value == kind);

    public string Document(string kind, string? name = null) =>
        Documents(kind).Single(d => name is null || NamePattern().Match(d).Groups[1].Value == name);

    /// <summary>
    /// The environment the container gets, as Kubernetes builds it: envFrom first, then env in order, with secret
    /// values from <paramref name="secret"/>, the pod name of pod 0, and <c>$(VAR)</c> replaced by earlier variables.
    /// </summary>
    public Dictionary<string, string> ContainerEnvironment(Func<(string Name, string Key), string> secret)
    {
        var environment = new Dictionary<string, string>(ConfigMapData, StringComparer.Ordinal);
        foreach (var entry in Env)
        {
            environment[entry.Name] = entry.Source switch
            {
                "secretKeyRef" => secret(entry.Reference),
                "fieldRef" when entry.Reference.Name == "metadata.name" => fullname + "-0",
                "value" => VariableReference().Replace(entry.Value, m => environment.GetValueOrDefault(m.Groups[1].Value, m.Value)),
                _ => throw new InvalidOperationException($"env {entry.Name}: unexpected source {entry.Source} {entry.Reference}"),
            };
        }

        return environment;
    }

    /// <summary>A YAML scalar as helm writes it: plain, 'single' or "double" quoted.</summary>
    public static string Unquote(string scalar)
    {
        var s = scalar.Trim();
        return s.StartsWith('"') ? JsonSerializer.Deserialize<string>(s)!
            : s.StartsWith('\'') ? s[1..^1].Replace("''", "'", StringComparison.Ordinal)
            : s;
    }

    private static List<EnvEntry> ParseEnv(string statefulSet)
    {
        var lines = statefulSet.Split('\n');
        var start = Array.FindIndex(lines, l => l.Trim() == "env:");
        var indent = lines[start].IndexOf('e', StringComparison.Ordinal);
        var block = lines.Skip(start + 1).TakeWhile(l => l.Length > indent && l[indent] == ' ');
        // Each item starts with "- name:"; its other lines follow until the next item.
        var entries = new List<EnvEntry>();
        foreach (var item in string.Join('\n', block).Split("- name: ").Skip(1))
        {
            var name = item[..item.IndexOf('\n', StringComparison.Ordinal)].Trim();
            var value = ValueLine().Match(item);
            var secret = SecretRef().Match(item);
            var field = FieldRef().Match(item);
            entries.Add(value.Success ? new EnvEntry(name, "value", Unquote(value.Groups[1].Value), default)
                : secret.Success ? new EnvEntry(name, "secretKeyRef", "", (secret.Groups[1].Value, secret.Groups[2].Value))
                : field.Success ? new EnvEntry(name, "fieldRef", "", (field.Groups[1].Value, ""))
                : throw new InvalidOperationException($"env {name}: no value, secretKeyRef or fieldRef"));
        }

        return entries;
    }

    [GeneratedRegex(@"^---\s*$", RegexOptions.Multiline)]
    private static partial Regex DocumentSeparator();

    [GeneratedRegex(@"^kind: (\w+)$", RegexOptions.Multiline)]
    private static partial Regex KindPattern();

    [GeneratedRegex(@"^metadata:\n(?:  .*\n)*?  name: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^  ([-._A-Za-z0-9]+): (.+)$", RegexOptions.Multiline)]
    private static partial Regex DataPattern();

    [GeneratedRegex(@"^\s*value: (.+)$", RegexOptions.Multiline)]
    private static partial Regex ValueLine();

    [GeneratedRegex(@"secretKeyRef:\n\s*name: (\S+)\n\s*key: (\S+)")]
    private static partial Regex SecretRef();

    [GeneratedRegex(@"fieldRef:\n\s*fieldPath: (\S+)")]
    private static partial Regex FieldRef();

    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_.]*)\)")]
    private static partial Regex VariableReference();
}
