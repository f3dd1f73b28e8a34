using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Server.Tests.Support;

namespace IdentityGraph.Server.Tests;

/// <summary>
/// One real node for the API tests: the dev broker and <c>serve</c> as processes (API key set), a few observations
/// produced with kcat, including a merge and a dead letter, resolved and published before the tests ask.
/// </summary>
public sealed class ApiNode : IAsyncLifetime
{
    public const string ApiKey = "test-api-key-0123456789";

    private KafkaRig? rig;

    public KafkaRig Rig => rig ?? throw new InvalidOperationException("not started");

    /// <summary>The id of the profile created by the card observation (the oldest); the web profile merges into it.</summary>
    public string Survivor { get; private set; } = "";

    /// <summary>The id of the profile the web observation created before the merge.</summary>
    public string MergedAway { get; private set; } = "";

    public async Task InitializeAsync()
    {
        rig = await KafkaRig.StartBrokerAsync(partitions: 2);
        await rig.StartServeAsync(("IdentityGraph__Api__Key", ApiKey));
        // One after the other, so the profile ids are known: web creates A, the store creates B (older, by observed_at),
        // then a call-centre observation links A's phone to B's card, and A merges into B.
        await Produce("""{"observationId":"api-web-1","source":"webshop","channel":"WEB","observedAt":"2026-11-24T10:15:00Z","identifiers":[{"type":"EMAIL","value":"Ann.Api@Shop.example"},{"type":"PHONE","value":"+45 21 43 65 87"}]}""");
        MergedAway = (await LiveProfileOfAsync("EMAIL", "ann.api@shop.example")).GetProperty("profileId").GetString()!;
        await Produce("""{"observationId":"api-pos-1","source":"pos","channel":"STORE","observedAt":"2026-11-20T09:00:00Z","identifiers":[{"type":"MEMBERSHIP_CARD","value":"7777-1234","namespace":"club"}]}""");
        Survivor = (await LiveProfileOfAsync("MEMBERSHIP_CARD", "77771234", "?namespace=club")).GetProperty("profileId").GetString()!;
        await Produce("""{"observationId":"api-cc-1","source":"call-centre","channel":"CALL_CENTER","observedAt":"2026-11-25T12:00:00Z","identifiers":[{"type":"PHONE","value":"+45 2143 6587"},{"type":"MEMBERSHIP_CARD","value":"77771234","namespace":"club"},{"type":"EMAIL","value":"noreply@shop.example"}]}""");
        await Produce("""{"observationId":"api-bad-1","observedAt":"2026-11-25T12:00:00Z"}""");
        await Produce("""{"observationId":"api-pos-2","source":"pos","channel":"STORE","observedAt":"2026-11-26T09:00:00Z","identifiers":[{"type":"MEMBERSHIP_CARD","value":"77771234","namespace":"club"},{"type":"PAYMENT_TOKEN","value":"tok/Ab+c=","namespace":"psp"}]}""");
        await WaitAsync(async () => (await LiveProfileOfAsync("EMAIL", "ann.api@shop.example")).GetProperty("profileId").GetString() == Survivor, "the merge");
        await LiveProfileOfAsync("PAYMENT_TOKEN", "tok/Ab+c=", "?namespace=psp");
    }

    public HttpClient Client(string? key = ApiKey)
    {
        var client = new HttpClient { BaseAddress = Rig.Http, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }

        return client;
    }

    private Task Produce(string line) => Kcat.ProduceLinesAsync(Rig.BootstrapServers, Kafka.Topics.Observations, [line]);

    private async Task<JsonElement> LiveProfileOfAsync(string type, string value, string query = "")
    {
        using var client = Client();
        JsonElement found = default;
        await WaitAsync(
            async () =>
            {
                using var response = await client.GetAsync(new Uri($"v1/identifiers/{type}/{Uri.EscapeDataString(value)}{query}", UriKind.Relative));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    return false;
                }

                found = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                return true;
            },
            $"{type} to be resolved");
        return found;
    }

    private async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"waiting for {what} timed out\n{Rig.Log}");
            await Task.Delay(200);
        }
    }

    public async Task DisposeAsync()
    {
        if (rig is not null)
        {
            await rig.DisposeAsync();
        }
    }
}

/// <summary>The lookup API (HTTP and gRPC), its authentication, metrics and health on a real node.</summary>
public sealed partial class ApiTests(ApiNode node) : IClassFixture<ApiNode>
{
    [Fact]
    public async Task An_identifier_is_found_however_a_channel_writes_it()
    {
        using var client = node.Client();
        foreach (var path in new[]
        {
            "v1/identifiers/EMAIL/%20ANN.API%40shop.EXAMPLE%20",
            "v1/identifiers/IDENTIFIER_TYPE_PHONE/%2B45%2021%2043%2065%2087",
            "v1/identifiers/phone/21436587?region=DK",
            "v1/identifiers/MEMBERSHIP_CARD/7777%201234?namespace=club",
            "v1/identifiers/PAYMENT_TOKEN/tok%2FAb%2Bc%3D?namespace=psp",
            "v1/identifiers/PAYMENT_TOKEN/tok/Ab+c=?namespace=psp",
        })
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            // The body is proto3 JSON of identitygraph.v1.Profile.
            var profile = Profile.Parser.WithDiscardUnknownFields(true).ParseJson(await response.Content.ReadAsStringAsync());
            Assert.Equal(node.Survivor, profile.ProfileId);
            Assert.Equal(
                ["EMAIL|ann.api@shop.example", "PHONE|+4521436587", "MEMBERSHIP_CARD|77771234", "PAYMENT_TOKEN|tok/Ab+c="],
                profile.Identifiers.Select(i => $"{Core.Identifiers.IdentifierTypes.ShortName(i.Type)}|{i.Value}"));
            Assert.Contains(node.MergedAway, profile.MergedProfileIds);
        }
    }

    [Fact]
    public async Task A_merged_away_profile_answers_with_the_survivor_and_says_so()
    {
        using var client = node.Client();
        using var response = await client.GetAsync(new Uri($"v1/profiles/{node.MergedAway}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(node.Survivor, body.GetProperty("profileId").GetString());
        Assert.Equal(node.MergedAway, body.GetProperty("redirectedFrom").GetString());
        Assert.Equal($"/v1/profiles/{node.Survivor}", response.Content.Headers.ContentLocation?.ToString());

        using var direct = await client.GetAsync(new Uri($"v1/profiles/{node.Survivor}", UriKind.Relative));
        var survivor = JsonDocument.Parse(await direct.Content.ReadAsStringAsync()).RootElement;
        Assert.False(survivor.TryGetProperty("redirectedFrom", out _));
    }

    [Theory]
    [InlineData("v1/identifiers/EMAIL/nobody%40shop.example", 404, "identifier.not_found")]
    [InlineData("v1/identifiers/PHONE/1234567", 400, "phone.missing_country_code")]
    [InlineData("v1/identifiers/PAYMENT_TOKEN/4111111111111111?namespace=psp", 400, "payment_token.raw_pan")]
    [InlineData("v1/identifiers/EMAIL/noreply%40shop.example", 400, "identifier.placeholder")]
    [InlineData("v1/identifiers/SHOE_SIZE/42", 400, "identifier.type_unspecified")]
    [InlineData("v1/profiles/not-a-ulid", 400, "profile_id.invalid")]
    [InlineData("v1/profiles/01ZZZZZZZZZZZZZZZZZZZZZZZZ", 404, "profile.not_found")]
    public async Task Unknown_and_invalid_lookups_get_a_clear_code(string path, int status, string code)
    {
        using var client = node.Client();
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(status, (int)response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    /// <summary>
    /// The API faces untrusted callers: lookups of identifiers nobody has answer 404 from the index slices in memory,
    /// activate no profile and write nothing (the rate and memory figures for 100,000 of them are in benchmarks/).
    /// </summary>
    [Fact]
    public async Task Unknown_lookups_activate_no_profile_and_write_nothing()
    {
        using var client = node.Client();
        var profilesBefore = await ActiveEntitiesAsync(client, "profile", after: DateTime.UtcNow);
        var journalBefore = await JournalFootprintAsync(node.Rig.DatabasePath);

        var paths = Enumerable.Range(0, 3000).Select(i => (i % 3) switch
        {
            0 => $"v1/identifiers/EMAIL/stranger{i}%40nowhere.example",
            1 => $"v1/identifiers/PHONE/%2B4561{i:D6}",
            _ => $"v1/identifiers/MEMBERSHIP_CARD/9{i:D7}?namespace=club",
        });
        foreach (var path in paths)
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.Equal(journalBefore, await JournalFootprintAsync(node.Rig.DatabasePath));
        Assert.Equal(profilesBefore, await ActiveEntitiesAsync(client, "profile", after: DateTime.UtcNow));
    }

    /// <summary>The node's count of active entities of a type from /metrics, polled at least once after <paramref name="after"/>.</summary>
    private static async Task<long> ActiveEntitiesAsync(HttpClient client, string type, DateTime? after = null)
    {
        // The gauge is fed by a poll every 5 s: wait out one poll so that the count is at least as new as `after`.
        if (after is { } since)
        {
            await Task.Delay(since.AddSeconds(6) - DateTime.UtcNow is { Ticks: > 0 } wait ? wait : TimeSpan.Zero);
        }

        var metrics = await client.GetStringAsync(new Uri("metrics", UriKind.Relative));
        var match = System.Text.RegularExpressions.Regex.Match(metrics, $$"""(?m)^identitygraph_active_entities\{[^}]*type="{{type}}"[^}]*\} (\d+)""");
        Assert.True(match.Success, $"no identitygraph_active_entities sample for {type}");
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Rows and the highest ordering of the journal, and the graph's snapshot rows (the outbox's checkpoint, a snapshot
    /// too, moves on its own), read from the node's SQLite file.
    /// </summary>
    private static async Task<(long Rows, long MaxOrdering, long Snapshots)> JournalFootprintAsync(string database)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT COUNT(*) FROM journal), (SELECT COALESCE(MAX(ordering), 0) FROM journal), (SELECT COUNT(*) FROM snapshot WHERE persistence_id NOT LIKE 'outbox-%')";
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    [Fact]
    public async Task The_api_needs_the_key_and_health_and_metrics_do_not()
    {
        const string path = "v1/identifiers/EMAIL/ann.api%40shop.example";
        using (var anonymous = node.Client(key: null))
        {
            using var response = await anonymous.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal("api.unauthenticated", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.DoesNotContain(node.Survivor, body, StringComparison.Ordinal);

            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri("healthz", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri("readyz", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri("metrics", UriKind.Relative))).StatusCode);
        }

        using (var wrong = node.Client(key: "not-the-key-0123456789"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        }

        using var bearer = node.Client(key: null);
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiNode.ApiKey);
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task The_grpc_lookup_service_gives_the_same_answers()
    {
        using var channel = GrpcChannel.ForAddress(node.Rig.Grpc!);
        var lookup = new Lookup.LookupClient(channel);
        var key = new Metadata { { "x-api-key", ApiNode.ApiKey } };

        var byPhone = await lookup.LookupIdentifierAsync(
            new LookupIdentifierRequest { Identifier = new Identifier { Type = IdentifierType.Phone, Value = "21 43 65 87" }, Region = "DK" }, key);
        Assert.Equal(node.Survivor, byPhone.Profile.ProfileId);
        Assert.Equal("", byPhone.RedirectedFrom);

        var redirected = await lookup.GetProfileAsync(new GetProfileRequest { ProfileId = node.MergedAway }, key);
        Assert.Equal(node.Survivor, redirected.Profile.ProfileId);
        Assert.Equal(node.MergedAway, redirected.RedirectedFrom);

        var notFound = await Assert.ThrowsAsync<RpcException>(() => lookup.LookupIdentifierAsync(
            new LookupIdentifierRequest { Identifier = new Identifier { Type = IdentifierType.Email, Value = "nobody@shop.example" } }, key).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        Assert.Equal("identifier.not_found", notFound.Trailers.GetValue("identitygraph-error-code"));

        var invalid = await Assert.ThrowsAsync<RpcException>(() => lookup.LookupIdentifierAsync(
            new LookupIdentifierRequest { Identifier = new Identifier { Type = IdentifierType.PaymentToken, Value = "4111 1111 1111 1111", Namespace = "psp" } }, key).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Equal("payment_token.raw_pan", invalid.Trailers.GetValue("identitygraph-error-code"));

        var anonymous = await Assert.ThrowsAsync<RpcException>(() => lookup.GetProfileAsync(new GetProfileRequest { ProfileId = node.Survivor }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
    }

    [Fact]
    public async Task Readiness_reports_every_check()
    {
        using var client = node.Client(key: null);
        using var response = await client.GetAsync(new Uri("readyz", UriKind.Relative));
        var checks = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ready", checks.GetProperty("status").GetString());
        Assert.Equal("up", checks.GetProperty("cluster").GetString());
        Assert.Equal("reachable", checks.GetProperty("journal").GetString());
        Assert.Equal("connected", checks.GetProperty("kafka").GetString());
        Assert.Equal("running", checks.GetProperty("ingestion").GetString());
    }

    [Fact]
    public async Task Metrics_pass_promtool_name_our_series_identitygraph_and_carry_no_personal_data()
    {
        using var client = node.Client(key: null);
        string[] expected =
        [
            "identitygraph_observations_total{", "identitygraph_observation_processing_seconds_bucket{",
            "identitygraph_merges_total{", "identitygraph_merge_fan_in_bucket{", "identitygraph_profile_identifiers_bucket{",
            "identitygraph_dead_letters_total{", "identitygraph_outbox_lag_events{", "identitygraph_outbox_lag_seconds{",
            "identitygraph_consumer_lag{", "identitygraph_active_entities{", "identitygraph_cluster_members{",
            "identitygraph_ingestion_running{", "dotnet_gc_collections_total{", "http_server_request_duration_seconds_bucket{",
        ];
        // Gauges fed by polling (entities, outbox lag) appear within a few seconds of start, and the profile-size
        // histogram with the outbox's first publication, which may come after the fixture's lookups already answer.
        var metrics = "";
        for (var waited = Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(250))
        {
            metrics = await client.GetStringAsync(new Uri("metrics", UriKind.Relative));
            if (expected.All(series => metrics.Contains(series, StringComparison.Ordinal)))
            {
                break;
            }
        }

        var (exitCode, problems) = await Promtool.CheckMetricsAsync(metrics);
        Assert.True(exitCode == 0, "promtool check metrics: " + problems);

        foreach (var series in expected)
        {
            Assert.Contains(series, metrics, StringComparison.Ordinal);
        }

        // The alerts and the dashboard of the Helm chart rely on these names.
        foreach (var name in HelmChartTests.ExposedMetrics)
        {
            Assert.Matches($"(?m)^{name}(_bucket)?\\{{", metrics);
        }

        Assert.Matches("""identitygraph_observations_total\{[^}]*outcome="merged"[^}]*\} [1-9]""", metrics);
        Assert.Matches("""identitygraph_dead_letters_total\{[^}]*reason="observation.no_identifiers"[^}]*\} 1""", metrics);
        Assert.Matches("""identitygraph_cluster_members\{[^}]*status="up"[^}]*\} 1""", metrics);
        // No identifier, normalised or raw, nor an identifier key, nor a profile id in any series.
        foreach (var value in new[] { "ann.api", "shop.example", "4521436587", "21436587", "77771234", node.Survivor, node.MergedAway })
        {
            Assert.DoesNotContain(value, metrics, StringComparison.OrdinalIgnoreCase);
        }

        Assert.DoesNotMatch("[0-9a-f]{64}", metrics);
    }
}

/// <summary>Readiness follows the node's dependencies: Kafka going away makes it 503, while liveness stays 200.</summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task A_node_that_lost_kafka_is_alive_but_not_ready()
    {
        await using var rig = await KafkaRig.StartBrokerAsync(partitions: 1);
        await rig.StartServeAsync();
        using var client = new HttpClient { BaseAddress = rig.Http, Timeout = TimeSpan.FromSeconds(10) };

        await rig.KillBrokerAsync();
        var clock = Stopwatch.StartNew();
        JsonElement checks;
        HttpStatusCode status;
        do
        {
            await Task.Delay(500);
            using var response = await client.GetAsync(new Uri("readyz", UriKind.Relative));
            status = response.StatusCode;
            checks = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        }
        while (status == HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(60));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("not ready", checks.GetProperty("status").GetString());
        Assert.Equal("disconnected", checks.GetProperty("kafka").GetString());
        Assert.Equal("reachable", checks.GetProperty("journal").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("healthz", UriKind.Relative))).StatusCode);
    }
}

/// <summary>A listener beyond loopback without an API key is a configuration error, not an open door.</summary>
public sealed class ApiKeyPolicyTests
{
    [Theory]
    [InlineData("--http", "http://0.0.0.0:{0}")]
    [InlineData("--grpc", "http://0.0.0.0:{0}")]
    public async Task Serve_refuses_to_listen_beyond_loopback_without_a_key(string flag, string url)
    {
        var listener = string.Format(System.Globalization.CultureInfo.InvariantCulture, url, KafkaRig.FreePort());
        var (exitCode, _, stderr) = await NormalizeCommandTests.RunExecutable(
            ["serve", "--kafka", "127.0.0.1:9", "--persistence", "sqlite:" + Path.Combine(Path.GetTempPath(), "unused-" + Guid.NewGuid().ToString("N") + ".db"),
             flag == "--http" ? "--grpc" : "--http", $"http://127.0.0.1:{KafkaRig.FreePort()}", flag, listener],
            "");

        Assert.Equal(2, exitCode);
        Assert.Contains("IdentityGraph:Api:Key is required", stderr, StringComparison.Ordinal);
    }
}

/// <summary>Prometheus' own linter, from the Debian package <c>prometheus</c>.</summary>
public static class Promtool
{
    public static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition)
    {
        try
        {
            var (exitCode, stdout, stderr) = await ProcessRunner.RunAsync("promtool", ["check", "metrics"], exposition, TimeSpan.FromMinutes(1));
            return (exitCode, stdout + stderr);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("promtool is not installed: run ./scripts/test.sh (it installs the Debian package prometheus).");
        }
    }
}
