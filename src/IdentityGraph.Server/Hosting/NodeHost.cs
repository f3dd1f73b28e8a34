using System.Net;
using Akka.Hosting;
using IdentityGraph.Cluster.Hosting;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Telemetry;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Kafka.Hosting;
using IdentityGraph.Kafka.Ingestion;
using IdentityGraph.Server.Api;
using IdentityGraph.Server.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace IdentityGraph.Server.Hosting;

/// <summary>What <c>serve</c> runs: where the graph is stored, the Kafka settings, and where HTTP and gRPC listen.</summary>
/// <param name="Grpc">Where the gRPC lookup service listens; null for none.</param>
public sealed record NodeSettings(ServerSettings Server, StorageSettings Storage, KafkaOptions Kafka, Uri Http, Uri? Grpc);

/// <summary>
/// A full node: the graph, Kafka ingestion and the outbox, the lookup API (HTTP and gRPC), metrics and health, in one
/// ASP.NET Core host. Stopping it (SIGTERM, Ctrl-C) stops consuming, drains in-flight observations and commits, lets
/// the outbox publish what is durable, then leaves the cluster.
/// </summary>
public static class NodeHost
{
    /// <summary>How long a graceful stop may take in total: ingestion drain, outbox drain, cluster leave.</summary>
    public static readonly TimeSpan ShutdownBudget = TimeSpan.FromSeconds(45);

    /// <param name="logLevel">Our own log level (the demo keeps the console for its progress bar: warnings only).</param>
    public static WebApplication Build(IConfiguration configuration, NodeSettings settings, LogLevel logLevel = LogLevel.Information)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(settings);
        var identity = SettingsLoader.Identity(configuration);
        var listenerRule = ListenerRule.For(settings.Server, identity);
        var problems = identity.Validate().Concat(settings.Server.Validate()).Concat(settings.Kafka.Validate()).ToList();
        problems.AddRange(listenerRule.Problems(ListenerRule.Configured(configuration, settings.Http, settings.Grpc)));
        if (problems.Count > 0)
        {
            throw new ConfigurationException(problems);
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(logLevel)
            .AddFilter("Microsoft", LogLevel.Warning)
            .AddFilter("Akka", LogLevel.Warning);
        if (settings.Http.Scheme == Uri.UriSchemeHttps || settings.Grpc?.Scheme == Uri.UriSchemeHttps)
        {
            // The slim builder leaves out Kestrel's certificate configuration (Kestrel:Certificates:Default:…).
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // HTTP/2 on a plain-text listener would need prior knowledge, which browsers and curl do not use by default.
            Listen(kestrel, settings.Http, settings.Http.Scheme == Uri.UriSchemeHttps ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1);
            if (settings.Grpc is { } grpcListener)
            {
                // gRPC without TLS needs HTTP/2 with prior knowledge: a listener of its own.
                Listen(kestrel, grpcListener, HttpProtocols.Http2);
            }
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownBudget);

        var keyer = identity.CreateKeyer();
        var normalizer = new IdentifierNormalizer(identity.ToNormalizationOptions());
        builder.Services.AddSingleton(normalizer);
        builder.Services.AddSingleton(keyer);
        builder.Services.AddSingleton(new ObservationNormalizer(normalizer, keyer));
        builder.Services.AddIdentityGraph(
            settings.Server.ToGraphOptions(settings.Storage) with { Limits = identity.ToProfileLimits() },
            (akka, provider) => akka
                .LogThroughLoggerFactory(Akka.Event.LogLevel.WarningLevel)
                .AddOutbox(settings.Kafka, provider));
        // After the graph: hosted services stop in reverse order, so ingestion drains before the actor system stops.
        builder.Services.AddKafka(settings.Kafka);

        builder.Services.AddSingleton<Readiness>();
        builder.Services.AddSingleton<ProfileLookup>();
        builder.Services.AddSingleton(listenerRule);
        ApiKeyAuthentication.Register(builder.Services, settings.Server.Api.Key);
        builder.Services.AddGrpc();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(IngestionStatistics.MeterName, GraphTelemetry.MeterName)
            // ASP.NET Core's own request metrics (route templates only: no identifier appears in a label).
            .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddRuntimeInstrumentation()
            // Three runtime gauges end in _count, which Prometheus reserves for histograms and summaries
            // (promtool check metrics refuses them): published under names without the suffix.
            .AddView("dotnet.assembly.count", new MetricStreamConfiguration { Name = "dotnet.assemblies.loaded" })
            .AddView("dotnet.process.cpu.count", new MetricStreamConfiguration { Name = "dotnet.process.cpus" })
            .AddView("dotnet.timer.count", new MetricStreamConfiguration { Name = "dotnet.timers.active" })
            .AddPrometheusExporter());

        var app = builder.Build();
        // Every endpoint needs the API key (the fallback policy), whatever the spelling of its path; these three carry
        // no personal data and serve probes and scrapers, which rarely hold keys.
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        app.MapGet("/healthz", () => Results.Text("ok\n")).AllowAnonymous();
        app.MapGet("/readyz", async (Readiness readiness, HttpContext context) =>
        {
            var (ready, checks) = await readiness.CheckAsync(context.RequestAborted);
            checks["status"] = ready ? "ready" : "not ready";
            return Results.Text(checks.ToJsonString() + "\n", "application/json", statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        }).AllowAnonymous();
        app.MapLookupHttpApi();
        app.MapGrpcService<LookupGrpcService>();
        return app;
    }

    /// <summary>
    /// Starts the node, then applies the <see cref="ListenerRule"/> to the addresses Kestrel actually bound (however they
    /// were configured); stops it again and throws <see cref="ConfigurationException"/> when one breaks the rule.
    /// </summary>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        await StorageUpgrade.ThrowIfOldDesignAsync(app.Services.GetRequiredService<JournalStatus>(), cancellationToken);
        await app.StartAsync(cancellationToken);
        var bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        var problems = app.Services.GetRequiredService<ListenerRule>().Problems(bound);
        if (problems.Count > 0)
        {
            await app.StopAsync(CancellationToken.None);
            throw new ConfigurationException(problems);
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("IdentityGraph.Journal");
        foreach (var problem in await app.Services.GetRequiredService<JournalStatus>().DurabilityProblemsAsync(cancellationToken))
        {
            logger.JournalNotDurable(problem);
        }
    }

    // An IP binds that address; "localhost" binds loopback; any other name binds every interface, as Kestrel's URLs do.
    private static void Listen(KestrelServerOptions kestrel, Uri url, HttpProtocols protocols)
    {
        void Configure(ListenOptions listen)
        {
            listen.Protocols = protocols;
            if (url.Scheme == Uri.UriSchemeHttps)
            {
                listen.UseHttps();
            }
        }

        if (IPAddress.TryParse(url.Host.Trim('[', ']'), out var address))
        {
            kestrel.Listen(address, url.Port, Configure);
        }
        else if (url.IsLoopback)
        {
            kestrel.ListenLocalhost(url.Port, Configure);
        }
        else
        {
            kestrel.ListenAnyIP(url.Port, Configure);
        }
    }
}

internal static partial class NodeHostLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "The journal database is not crash-safe: {Problem}.")]
    public static partial void JournalNotDurable(this ILogger logger, string problem);
}
