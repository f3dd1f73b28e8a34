using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using IdentityGraph.Cluster.Export;
using IdentityGraph.Cluster.Hosting;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Profiles;
using IdentityGraph.Kafka;
using IdentityGraph.Kafka.Ingestion;
using IdentityGraph.Kafka.Outbox;
using IdentityGraph.Server.Api;
using IdentityGraph.Server.Configuration;
using IdentityGraph.Server.Demo;
using IdentityGraph.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace IdentityGraph.Server.Commands;

/// <summary>
/// <c>identitygraph demo</c>: the whole job on embedded defaults — the dev broker in process, SQLite under
/// <c>./data/demo</c>, one node — fed with a realistic omnichannel sample through Kafka, with a progress bar and a
/// summary; then it keeps serving until Ctrl-C (or exits with <c>--once</c>).
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var once = new Option<bool>("--once") { Description = "Exit after the summary instead of serving until Ctrl-C." };
        var count = new Option<int>("--observations") { Description = "How many observations to stream.", DefaultValueFactory = _ => 5000 };
        var customers = new Option<int>("--customers") { Description = "How many customers they come from.", DefaultValueFactory = _ => 1500 };
        var seed = new Option<int>("--seed") { Description = "Seed of the sample (same seed, same sample).", DefaultValueFactory = _ => 7 };
        var data = new Option<DirectoryInfo>("--data")
        {
            Description = "Directory of the demo database; emptied at start.",
            DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("data", "demo")),
        };
        var http = new Option<string?>("--http") { Description = "Where HTTP listens. Default: http://127.0.0.1:8080." };
        var grpc = new Option<string?>("--grpc") { Description = "Where gRPC listens. Default: http://127.0.0.1:8081; 'none' for no gRPC listener." };
        var kafkaPort = new Option<int>("--kafka-port")
        {
            Description = "Port of the embedded dev broker (taken: any free port).",
            DefaultValueFactory = _ => DevBrokerOptions.DefaultPort,
        };
        var command = new Command("demo", "Run the whole pipeline on embedded defaults with a realistic sample, then keep serving.")
        {
            once, count, customers, seed, data, http, grpc, kafkaPort,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var observations = parse.GetValue(count);
            var population = parse.GetValue(customers);
            if (observations is < 1 or > 1_000_000 || population is < 1 or > 1_000_000)
            {
                throw new ConfigurationException(["--observations and --customers must be between 1 and 1000000."]);
            }

            var directory = parse.GetValue(data)!;
            if (directory.Exists)
            {
                directory.Delete(recursive: true);
            }

            var configuration = DemoConfiguration(SettingsLoader.Load());
            await SettingsLoader.Identity(configuration).WarnIfDevelopmentSecretAsync(Console.Error);
            var server = SettingsLoader.Server(configuration);
            await using var broker = StartBroker(parse.GetValue(kafkaPort));
            var kafka = ServeCommand.DevBrokerKafkaSettings(configuration, broker);
            var storage = StorageSettings.Parse("sqlite:" + Path.Combine(directory.FullName, "identitygraph.db"));
            var httpUri = FreeOrFallback("HTTP", ServeCommand.HttpOption(parse.GetValue(http) ?? server.Http.Url));
            var grpcUri = ServeCommand.GrpcOption(parse.GetValue(grpc) ?? server.Http.GrpcUrl) is { } g ? FreeOrFallback("gRPC", g) : null;
            await IndexSliceCount.ResolveAsync(server.Graph, storage, cancellationToken);
            await using var app = NodeHost.Build(configuration, new NodeSettings(server, storage, kafka, httpUri, grpcUri), LogLevel.Warning);

            AnsiConsole.MarkupLine($"[bold]IdentityGraph demo[/]: dev broker [blue]{broker.BootstrapServers}[/], SQLite [blue]{Markup.Escape(storage.DisplayString)}[/], one node");
            await NodeHost.StartAsync(app, cancellationToken);
            // Part of start-up: the clock of the summary starts with the first record.
            await app.Services.GetRequiredService<IndexStartup>().Started.WaitAsync(cancellationToken);
            var run = await StreamAsync(app, broker.BootstrapServers, new DemoData(parse.GetValue(seed), population), observations, cancellationToken);
            await PrintSummaryAsync(app, run, broker.BootstrapServers, httpUri, grpcUri);

            if (!parse.GetValue(once))
            {
                Console.Out.WriteLine("Serving until Ctrl-C: produce more observations to identity.observations and watch them resolve.");
                Console.Out.Flush();
                await app.WaitForShutdownAsync(CancellationToken.None);
            }

            await app.StopAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }

    /// <summary>Demo defaults under the user's settings: local phone numbers are Danish, outputs are JSON (readable with kcat).</summary>
    private static IConfiguration DemoConfiguration(IConfiguration user) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["IdentityGraph:Identity:DefaultPhoneRegion"] = "DK",
                ["IdentityGraph:Kafka:Outbox:Format"] = "Json",
            })
            .AddConfiguration(user)
            .Build();

    private static DevBroker StartBroker(int port)
    {
        try
        {
            return DevBroker.Start(new DevBrokerOptions { Port = port });
        }
        catch (DevBrokerPortInUseException)
        {
            AnsiConsole.MarkupLine($"[yellow]port {port} is taken; the dev broker uses free ports instead[/]");
            return DevBroker.Start(new DevBrokerOptions { Port = 0 });
        }
    }

    /// <summary>The listener address, or the same host on a free port when it is taken (the demo must start anywhere).</summary>
    private static Uri FreeOrFallback(string listener, Uri url)
    {
        var address = System.Net.IPAddress.TryParse(url.Host, out var ip) ? ip : System.Net.IPAddress.Loopback;
        try
        {
            using var probe = new System.Net.Sockets.TcpListener(address, url.Port);
            probe.Start();
            return url;
        }
        catch (System.Net.Sockets.SocketException)
        {
            using var free = new System.Net.Sockets.TcpListener(address, 0);
            free.Start();
            var port = ((System.Net.IPEndPoint)free.LocalEndpoint).Port;
            AnsiConsole.MarkupLine($"[yellow]port {url.Port} is taken; {listener} uses port {port} instead[/]");
            return new UriBuilder(url) { Port = port }.Uri;
        }
    }

    private sealed record DemoRun(int Produced, TimeSpan Elapsed);

    private static async Task<DemoRun> StreamAsync(WebApplication app, string bootstrap, DemoData data, int count, CancellationToken cancellationToken)
    {
        var ingestion = app.Services.GetRequiredService<IngestionStatistics>();
        var outbox = app.Services.GetRequiredService<OutboxStatistics>();
        var clock = Stopwatch.StartNew();
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var producing = context.AddTask("produced to Kafka", maxValue: count);
                var resolving = context.AddTask("resolved or dead-lettered", maxValue: count);
                var publishing = context.AddTask("profile events published", maxValue: 1);
                using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 5, EnableIdempotence = true }).Build();
                var json = new Headers { { "content-type", Encoding.UTF8.GetBytes("application/json") } };
                var produced = 0;
                foreach (var record in data.Records(count))
                {
                    producer.Produce(Topics.Observations, new Message<Null, string> { Value = record, Headers = json });
                    // The dev broker keeps 5 MiB per partition: stay close to the consumer instead of racing ahead.
                    while (++produced - Done(ingestion) > 2000)
                    {
                        Update();
                        await Task.Delay(50, cancellationToken);
                    }

                    producing.Value = produced;
                }

                producer.Flush(cancellationToken);
                producing.Value = count;
                while (Done(ingestion) < count)
                {
                    Update();
                    await Task.Delay(100, cancellationToken);
                }

                // Published when the outbox has delivered every profile event the journal holds (everything resolved
                // is durable by now), not after a fixed quiet time.
                var journal = app.Services.GetRequiredService<JournalStatus>();
                while ((await journal.UnpublishedAfterAsync(outbox.Checkpoint, cancellationToken)).Count > 0)
                {
                    Update();
                    await Task.Delay(50, cancellationToken);
                }

                publishing.MaxValue = Math.Max(1, outbox.Published);
                publishing.Value = publishing.MaxValue;

                void Update()
                {
                    resolving.Value = Done(ingestion);
                    publishing.MaxValue = Math.Max(publishing.MaxValue, outbox.Published + 1);
                    publishing.Value = outbox.Published;
                }
            });
        return new DemoRun(count, clock.Elapsed);
    }

    private static long Done(IngestionStatistics s) => s.ResolvedTotal + s.DeadLettersTotal;

    private static async Task PrintSummaryAsync(WebApplication app, DemoRun run, string bootstrap, Uri http, Uri? grpc)
    {
        var ingestion = app.Services.GetRequiredService<IngestionStatistics>();
        var outbox = app.Services.GetRequiredService<OutboxStatistics>();
        // Largest first (ties by id): the table below and the example URL show the same profiles.
        var profiles = (await ProfileReader.ReadAllAsync(app.Services.GetRequiredService<Akka.Actor.ActorSystem>()))
            .Where(p => p.Value.Status == ProfileStatus.Live)
            .OrderByDescending(p => p.Value.Content.Identifiers.Count)
            .ThenBy(p => p.Key, StringComparer.Ordinal)
            .ToList();
        var c = CultureInfo.InvariantCulture;

        var summary = new Table().Border(TableBorder.Rounded).AddColumn("summary").AddColumn(new TableColumn("").RightAligned());
        summary.AddRow("observations streamed", run.Produced.ToString("N0", c));
        summary.AddRow("throughput", string.Create(c, $"{run.Produced / run.Elapsed.TotalSeconds:N0} observations/s ({run.Elapsed.TotalSeconds:F1} s end to end)"));
        summary.AddRow("profiles (customers found)", profiles.Count.ToString("N0", c));
        summary.AddRow("new profiles / linked / nothing new", string.Create(c,
            $"{ingestion.Resolved(ResolveOutcome.Created):N0} / {ingestion.Resolved(ResolveOutcome.Linked):N0} / {ingestion.Resolved(ResolveOutcome.NothingNew):N0}"));
        summary.AddRow("merges (profiles merged away)", string.Create(c, $"{ingestion.Resolved(ResolveOutcome.Merged):N0} ({ingestion.ProfilesMerged:N0})"));
        summary.AddRow("dead letters", string.Join(", ", ingestion.DeadLetters.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key} {d.Value}")) is { Length: > 0 } letters
            ? string.Create(c, $"{ingestion.DeadLettersTotal:N0}: {letters}") : "0");
        summary.AddRow("identifiers dropped", string.Join(", ", ingestion.DroppedIdentifiers.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key} {d.Value}")) is { Length: > 0 } dropped
            ? dropped : "0");
        summary.AddRow("profile events published", outbox.Published.ToString("N0", c));
        AnsiConsole.Write(summary);

        var largest = new Table().Border(TableBorder.Rounded).Title("largest profiles")
            .AddColumn(new TableColumn("profile id").NoWrap()).AddColumn("identifiers").AddColumn("channels")
            .AddColumn(new TableColumn("merged").RightAligned());
        foreach (var (id, state) in profiles.Take(5))
        {
            var records = state.Content.Identifiers.Values;
            largest.AddRow(
                id,
                string.Join(", ", records.GroupBy(r => r.Identifier.Type).OrderBy(g => g.Key).Select(g => $"{g.Count()} {Label(g.Key)}")),
                string.Join(", ", records.SelectMany(r => r.Channels).Distinct().Order().Select(ch => ch.ToString().ToLowerInvariant())),
                state.Content.MergedProfileIds.Count.ToString(c));
        }

        AnsiConsole.Write(largest);
        // Plain lines, not wrapped to the terminal width, so they can be copied.
        var key = app.Services.GetRequiredService<ApiKeyAuthentication>().Required ? " -H \"X-Api-Key: $KEY\"" : "";
        var example = profiles.Count > 0 ? profiles[0].Key : "PROFILE_ID";
        Console.Out.WriteLine("Explore:");
        Console.Out.WriteLine($"  a profile:       curl{key} {new Uri(http, "v1/profiles/" + example)}");
        Console.Out.WriteLine($"  by identifier:   curl{key} '{new Uri(http, "v1/identifiers/")}PHONE/<number>?region=DK'   (EMAIL, MEMBERSHIP_CARD?namespace=club, …)");
        if (grpc is not null)
        {
            Console.Out.WriteLine($"  gRPC Lookup:     {grpc} (identitygraph.v1.Lookup, proto/identitygraph/v1/lookup.proto)");
        }

        Console.Out.WriteLine($"  metrics, health: {new Uri(http, "metrics")}  {new Uri(http, "healthz")}  {new Uri(http, "readyz")}");
        Console.Out.WriteLine($"  profile events:  kcat -C -b {bootstrap} -t {Topics.ProfileEvents} -e -q -f '%k %s\\n'");
        Console.Out.WriteLine($"  dead letters:    kcat -C -b {bootstrap} -t {Topics.DeadLetters} -e -q -f '%h\\n'");
        Console.Out.WriteLine($"  more input:      echo '{{\"observationId\":\"me-1\",\"observedAt\":\"2026-11-24T10:00:00Z\",\"identifiers\":[{{\"type\":\"EMAIL\",\"value\":\"me@example.com\"}}]}}' | kcat -P -b {bootstrap} -t {Topics.Observations}");
    }

    private static string Label(IdentifierType type) => type switch
    {
        IdentifierType.Email => "email",
        IdentifierType.Phone => "phone",
        IdentifierType.MembershipCard => "card",
        IdentifierType.PaymentToken => "token",
        IdentifierType.CustomerId => "customer-id",
        _ => "device",
    };
}
