using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Server.Configuration;
using IdentityGraph.Server.Tests.Support;

namespace IdentityGraph.Server.Tests;

/// <summary>
/// The API key as an attacker probes it: every route, HTTP and gRPC, spelt every way a server might route but a path
/// check might miss (case, percent-encoding, dot-segments, doubled and trailing slashes, other methods). Without the
/// key the answer is 401 (gRPC UNAUTHENTICATED), or a routing 404/405/400 that never reached a handler.
/// </summary>
public sealed partial class ApiTests
{
    private const string GrpcService = "identitygraph.v1.Lookup";

    [Fact]
    public async Task Every_spelling_of_every_http_route_needs_the_key()
    {
        var routes = new[]
        {
            $"/v1/profiles/{node.Survivor}",
            "/v1/identifiers/EMAIL/ann.api%40shop.example",
            "/v1/identifiers/PAYMENT_TOKEN/tok%2FAb%2Bc%3D?namespace=psp",
            $"/{GrpcService}/GetProfile",
            $"/{GrpcService}/LookupIdentifier",
        };
        var failures = new List<string>();
        var requests = 0;
        foreach (var route in routes)
        {
            var spellings = Spellings(route).Append($"http://{node.Rig.Http!.Authority}{route.ToUpperInvariant()}").ToList();
            foreach (var (method, target) in spellings.Select(s => ("GET", s))
                .Concat(new[] { "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" }.SelectMany(m => spellings.Take(3).Select(s => (m, s)))))
            {
                requests++;
                var response = await RawHttp.SendAsync(node.Rig.Http!, method, target);
                if (RefusalProblem(response, method) is { } problem)
                {
                    failures.Add($"{method} {target} -> {response.Status}: {problem}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {requests} requests without a key were not refused:\n{string.Join('\n', failures)}");

        // The spellings are not refused for being unroutable: with the key, routing takes them to the handler.
        foreach (var target in new[] { "/V1/profiles/", "/v1/PROFILES/", "/%761/profiles/", "/x/../v1/profiles/", "/./v1/profiles/", "/%2E/v1/profiles/" })
        {
            var response = await RawHttp.SendAsync(node.Rig.Http!, "GET", target + node.Survivor, ("X-Api-Key", ApiNode.ApiKey));
            Assert.True(response.Status == 200, $"GET {target} with the key -> {response.Status} {response.Body}");
            Assert.Contains(node.Survivor, response.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Every_spelling_of_every_grpc_method_needs_the_key()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var calls = new (string Method, IMessage Request)[]
        {
            ("GetProfile", new GetProfileRequest { ProfileId = node.Survivor }),
            ("LookupIdentifier", new LookupIdentifierRequest { Identifier = new Identifier { Type = IdentifierType.Email, Value = "ann.api@shop.example" } }),
        };
        var failures = new List<string>();
        var requests = 0;
        foreach (var (method, request) in calls)
        {
            foreach (var target in Spellings($"/{GrpcService}/{method}"))
            {
                requests++;
                var answer = await GrpcCallAsync(client, target, request, key: null);
                // UNAUTHENTICATED with our code, or refused at the HTTP level before any endpoint ran; never a message.
                var refused = answer is { GrpcStatus: 16, ErrorCode: "api.unauthenticated" } ||
                    answer.GrpcStatus is null && answer.Http != HttpStatusCode.OK;
                if (!refused || answer.MessageBytes > 0)
                {
                    failures.Add($"{target} -> {answer}");
                }
            }

            // The control: the same call with the key is answered by the service.
            var control = await GrpcCallAsync(client, $"/{GrpcService}/{method}", request, ApiNode.ApiKey);
            Assert.True(control is { GrpcStatus: 0, MessageBytes: > 0 }, $"{method} with the key -> {control}");
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {requests} gRPC calls without a key were not refused:\n{string.Join('\n', failures)}");
    }

    /// <summary>The ways one path can be written that a server may route to the same endpoint.</summary>
    private static IEnumerable<string> Spellings(string route)
    {
        var queryAt = route.IndexOf('?', StringComparison.Ordinal);
        var (path, query) = queryAt < 0 ? (route, "") : (route[..queryAt], route[queryAt..]);
        var segments = path.Split('/');
        var first = segments[1];
        var rest = path[(first.Length + 1)..];
        string With(string p) => p + query;
        string Encoded(char c) => "%" + ((int)c).ToString("X2", CultureInfo.InvariantCulture);

        yield return With(path);
        yield return With("/" + first.ToUpperInvariant() + rest);
        yield return With(string.Join('/', segments.Select((s, i) => i == 2 ? s.ToUpperInvariant() : s)));
        yield return With(path.ToUpperInvariant());
        yield return With(path.ToLowerInvariant());
        yield return With("/" + Encoded(first[0]) + first[1..] + rest);
        yield return With("/" + string.Concat(first.Select(Encoded)) + rest);
        yield return With("/" + first + "%2F" + rest[1..]);
        yield return With("/" + first + "%2f" + rest[1..]);
        yield return With("/%2E/" + first + rest);
        yield return With("/%2e%2e/" + first + rest);
        yield return With("/x/../" + first + rest);
        yield return With("/x/%2E%2E/" + first + rest);
        yield return With("/./" + first + rest);
        yield return With("/" + first + "/./" + rest[1..]);
        yield return With("/" + first + "/x/../" + rest[1..]);
        yield return With("//" + first + rest);
        yield return With("/" + first + "/" + rest);
        yield return With(path + "/");
        yield return With(path + "//");
        yield return With("/" + first + rest.Replace('/', '\\'));
        yield return With("/" + first + ";x=1" + rest);
    }

    /// <summary>Null when <paramref name="response"/> refuses the caller and gives nothing away; else what is wrong.</summary>
    private string? RefusalProblem(RawHttp.Response response, string method)
    {
        foreach (var secret in new[] { node.Survivor, node.MergedAway, "ann.api", "77771234", "4521436587" })
        {
            if (response.Body.Contains(secret, StringComparison.OrdinalIgnoreCase))
            {
                return $"the body shows {secret}";
            }
        }

        return response.Status switch
        {
            401 when response.Header("WWW-Authenticate") != "Bearer" => "no WWW-Authenticate: Bearer",
            401 when method != "HEAD" && !response.Body.Contains("\"api.unauthenticated\"", StringComparison.Ordinal) => "no api.unauthenticated code: " + response.Body,
            401 => null,
            // Refused by Kestrel or routing before any endpoint ran: no handler's error body.
            400 or 404 or 405 when !response.Body.Contains("\"error\"", StringComparison.Ordinal) => null,
            _ => "a handler answered: " + response.Body,
        };
    }

    private sealed record GrpcAnswer(HttpStatusCode Http, int? GrpcStatus, string? ErrorCode, int MessageBytes);

    /// <summary>A unary gRPC call written by hand (h2c, prior knowledge), to a path exactly as given.</summary>
    private async Task<GrpcAnswer> GrpcCallAsync(HttpClient client, string target, IMessage message, string? key)
    {
        var payload = message.ToByteArray();
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        var uri = new Uri(node.Rig.Grpc!.GetLeftPart(UriPartial.Authority) + target, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = new ByteArrayContent(frame),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (key is not null)
        {
            request.Headers.Add("x-api-key", key);
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        // Trailers-only answers carry the status in the headers; others in the trailers.
        string? Value(string name) =>
            response.Headers.TryGetValues(name, out var values) || response.TrailingHeaders.TryGetValues(name, out values) ? values.First() : null;
        return new GrpcAnswer(
            response.StatusCode,
            int.TryParse(Value("grpc-status"), CultureInfo.InvariantCulture, out var status) ? status : null,
            Value(Api.LookupGrpcService.ErrorCodeTrailer),
            body.Length);
    }
}

/// <summary>Listening beyond loopback, however it is configured, needs an API key and a secret of one's own.</summary>
public sealed class ListenerRuleTests
{
    private const string Key = "listener-api-key-0123456789";
    private const string Secret = "listener-hmac-secret-0123456789";

    [Fact]
    public async Task A_kestrel_endpoint_beyond_loopback_without_a_key_is_refused_and_named()
    {
        var listener = $"http://0.0.0.0:{KafkaRig.FreePort()}";
        var (exitCode, _, stderr) = await Serve(["--http", Loopback(), "--grpc", "none"], ("Kestrel__Endpoints__extra__Url", listener), ("IdentityGraph__Identity__KeySecret", Secret));

        Assert.Equal(2, exitCode);
        Assert.Contains("IdentityGraph:Api:Key is required", stderr, StringComparison.Ordinal);
        Assert.Contains(listener, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://*:{0}")]
    [InlineData("http://[::]:{0}")]
    [InlineData("http://example.invalid:{0}")]
    public async Task Any_host_that_binds_every_interface_counts_as_beyond_loopback(string url)
    {
        var listener = string.Format(CultureInfo.InvariantCulture, url, KafkaRig.FreePort());
        var (exitCode, _, stderr) = await Serve(["--http", Loopback(), "--grpc", "none"], ("Kestrel__Endpoints__other__Url", listener), ("IdentityGraph__Identity__KeySecret", Secret));

        Assert.Equal(2, exitCode);
        Assert.Contains("IdentityGraph:Api:Key is required", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_development_secret_is_refused_beyond_loopback_even_with_a_key()
    {
        var listener = $"http://0.0.0.0:{KafkaRig.FreePort()}/";
        var (exitCode, _, stderr) = await Serve(["--http", listener, "--grpc", "none"], ("IdentityGraph__Api__Key", Key));

        Assert.Equal(2, exitCode);
        Assert.Contains("IdentityGraph:Identity:KeySecret is required", stderr, StringComparison.Ordinal);
        Assert.Contains(listener, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Api:Key is required", stderr, StringComparison.Ordinal);
        // serve also warns, like every command that stores or serves data on the development secret.
        Assert.Contains(IdentitySettings.DevelopmentSecretWarning, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Settings_check_applies_the_same_rule_to_kestrel_endpoints()
    {
        var (exitCode, _, stderr) = await NormalizeCommandTests.RunExecutable(
            ["settings", "--check"], "", ("Kestrel__Endpoints__extra__Url", $"http://0.0.0.0:{KafkaRig.FreePort()}"));

        Assert.Equal(2, exitCode);
        Assert.Contains("IdentityGraph:Api:Key is required", stderr, StringComparison.Ordinal);
        Assert.Contains("IdentityGraph:Identity:KeySecret is required", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_kestrel_endpoint_beyond_loopback_with_a_key_and_a_secret_serves_only_callers_with_the_key()
    {
        await using var rig = await KafkaRig.StartBrokerAsync(partitions: 1);
        var port = KafkaRig.FreePort();
        await rig.StartServeAsync(
            ("Kestrel__Endpoints__extra__Url", $"http://0.0.0.0:{port}"), ("IdentityGraph__Api__Key", Key), ("IdentityGraph__Identity__KeySecret", Secret));
        var extra = new Uri($"http://127.0.0.1:{port}/");

        var anonymous = await RawHttp.SendAsync(extra, "GET", "/V1/profiles/01ZZZZZZZZZZZZZZZZZZZZZZZZ");
        Assert.Equal(401, anonymous.Status);
        Assert.Contains("api.unauthenticated", anonymous.Body, StringComparison.Ordinal);

        var keyed = await RawHttp.SendAsync(extra, "GET", "/v1/profiles/01ZZZZZZZZZZZZZZZZZZZZZZZZ", ("X-Api-Key", Key));
        Assert.Equal(404, keyed.Status);
        Assert.Contains("profile.not_found", keyed.Body, StringComparison.Ordinal);
        Assert.Equal(200, (await RawHttp.SendAsync(extra, "GET", "/healthz")).Status);
        Assert.DoesNotContain("development secret", rig.Log.ToString(), StringComparison.Ordinal);
    }

    private static string Loopback() => $"http://127.0.0.1:{KafkaRig.FreePort()}";

    /// <summary><c>serve</c> against nothing: every case here must end at start-up, before Kafka or storage matter.</summary>
    private static Task<(int ExitCode, string Stdout, string Stderr)> Serve(string[] listeners, params (string Name, string Value)[] environment) =>
        NormalizeCommandTests.RunExecutable(
            ["serve", "--kafka", "127.0.0.1:9", "--persistence", "sqlite:" + Path.Combine(Path.GetTempPath(), "unused-" + Guid.NewGuid().ToString("N") + ".db"), .. listeners],
            "",
            environment);
}

/// <summary>Every command that keys, stores or serves identifiers says so when it runs on the public development secret.</summary>
public sealed class DevelopmentSecretWarningTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("identitygraph-secret-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Import_and_export_warn_on_the_development_secret_and_not_on_a_configured_one()
    {
        var input = Path.Combine(directory, "observations.jsonl");
        await File.WriteAllTextAsync(input, """{"observationId":"secret-1","observedAt":"2026-11-24T10:00:00Z","identifiers":[{"type":"EMAIL","value":"ann@shop.example"}]}""" + "\n");
        var development = "sqlite:" + Path.Combine(directory, "development.db");

        var import = await NormalizeCommandTests.RunExecutable(["import", "--in", input, "--persistence", development], "");
        Assert.True(import.ExitCode == 0, import.Stderr);
        Assert.Contains(IdentitySettings.DevelopmentSecretWarning, import.Stderr, StringComparison.Ordinal);

        var export = await NormalizeCommandTests.RunExecutable(["export", "--out", Path.Combine(directory, "out.jsonl"), "--persistence", development], "");
        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.Contains(IdentitySettings.DevelopmentSecretWarning, export.Stderr, StringComparison.Ordinal);

        var configured = await NormalizeCommandTests.RunExecutable(
            ["import", "--in", input, "--persistence", "sqlite:" + Path.Combine(directory, "configured.db")], "",
            ("IdentityGraph__Identity__KeySecret", "a-production-secret-0123456789"));
        Assert.True(configured.ExitCode == 0, configured.Stderr);
        Assert.DoesNotContain("development secret", configured.Stderr, StringComparison.Ordinal);
    }
}

/// <summary>The two loopback rules on their own: the listener addresses start-up reads, and the caller check behind it.</summary>
public sealed class LoopbackRuleTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("http://127.1.2.3:8080/", true)]
    [InlineData("http://localhost:8080", true)]
    [InlineData("http://LOCALHOST:8080", true)]
    [InlineData("http://[::1]:8080", true)]
    [InlineData("http://0.0.0.0:8080", false)]
    [InlineData("http://[::]:8080", false)]
    [InlineData("http://*:8080", false)]
    [InlineData("http://+:8080", false)]
    [InlineData("https://node-0.example:8443", false)]
    [InlineData("http://10.1.2.3:8080", false)]
    [InlineData("http://unix:/run/identitygraph.sock", false)]
    [InlineData("not a url", false)]
    public void A_listener_is_loopback_only_where_kestrel_binds_loopback_only(string listener, bool loopback) =>
        Assert.Equal(loopback, Hosting.ListenerRule.IsLoopback(listener));

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("10.1.2.3", false)]
    [InlineData("::ffff:10.1.2.3", false)]
    [InlineData("fe80::1", false)]
    public void Without_a_key_only_a_connection_that_arrived_on_loopback_is_accepted(string localAddress, bool accepted)
    {
        var open = new Api.ApiKeyAuthentication(key: null);
        Assert.Equal(accepted, open.Accepts(null, null, IPAddress.Parse(localAddress)));
        Assert.False(open.Accepts(null, null, localAddress: null));

        // With a key, the address does not matter: only the key does.
        var keyed = new Api.ApiKeyAuthentication("a-key-of-enough-length");
        Assert.True(keyed.Accepts("a-key-of-enough-length", null, IPAddress.Parse(localAddress)));
        Assert.True(keyed.Accepts(null, "Bearer a-key-of-enough-length", IPAddress.Parse(localAddress)));
        Assert.False(keyed.Accepts(null, null, IPAddress.Parse(localAddress)));
        Assert.False(keyed.Accepts("a-key-of-enough-lengtH", null, IPAddress.Parse(localAddress)));
    }
}
