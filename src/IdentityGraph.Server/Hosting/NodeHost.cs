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
using Microsoft.AspNetCore.Http;
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
        var problems = identity.Validate().Concat(settings.Server.Validate()).Concat(settings.Kafka.Validate()).ToList();
        problems.AddRange(ApiKeyProblems(settings.Server, settings.Http, settings.Grpc));
        if (problems.Count > 0)
        {
            throw new ConfigurationException(problems);
        }

        var authentication = new ApiKeyAuthentication(settings.Server.Api.Key);

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
        builder.Services.AddSingleton(authentication);
        builder.Services.AddSingleton<ApiKeyAuthentication.GrpcInterceptor>();
        builder.Services.AddGrpc(o => o.Interceptors.Add<ApiKeyAuthentication.GrpcInterceptor>());
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
        app.Use((context, next) => authentication.InvokeAsync(context, next));
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", async (Readiness readiness, HttpContext context) =>
        {
            var (ready, checks) = await readiness.CheckAsync(context.RequestAborted);
            checks["status"] = ready ? "ready" : "not ready";
            return Results.Text(checks.ToJsonString() + "\n", "application/json", statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        app.MapLookupHttpApi();
        app.MapGrpcService<LookupGrpcService>();
        return app;
    }

    /// <summary>The API must not be open beyond this machine: without a key, every listener must be on loopback.</summary>
    public static IEnumerable<string> ApiKeyProblems(ServerSettings server, Uri http, Uri? grpc)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(http);
        if (server.Api.Key is null && (!ApiKeyAuthentication.IsLoopback(http) || grpc is not null && !ApiKeyAuthentication.IsLoopback(grpc)))
        {
            yield return $"{ServerSettings.Section}:Api:Key is required when HTTP or gRPC listens beyond loopback ({http}{(grpc is null ? "" : ", " + grpc)}).";
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
