using Akka.Cluster;
using Akka.Hosting;
using IdentityGraph.Cluster.Hosting;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Kafka.Hosting;
using IdentityGraph.Kafka.Ingestion;
using IdentityGraph.Server.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Server.Hosting;

/// <summary>What <c>serve</c> runs: where the graph is stored, the Kafka settings, and where HTTP listens.</summary>
public sealed record NodeSettings(ServerSettings Server, StorageSettings Storage, KafkaOptions Kafka, Uri Http);

/// <summary>
/// A full node: the graph, Kafka ingestion and the outbox, and the HTTP endpoints, in one ASP.NET Core host.
/// Stopping it (SIGTERM, Ctrl-C) stops consuming, drains in-flight observations and commits, lets the outbox publish
/// what is durable, then leaves the cluster.
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
        builder.WebHost.UseUrls(settings.Http.ToString());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownBudget);

        builder.Services.AddSingleton(new ObservationNormalizer(
            new IdentifierNormalizer(identity.ToNormalizationOptions()), identity.CreateKeyer()));
        builder.Services.AddIdentityGraph(
            settings.Server.ToGraphOptions(settings.Storage),
            (akka, provider) => akka
                .LogThroughLoggerFactory(Akka.Event.LogLevel.WarningLevel)
                .AddOutbox(settings.Kafka, provider));
        // After the graph: hosted services stop in reverse order, so ingestion drains before the actor system stops.
        builder.Services.AddKafka(settings.Kafka);

        var app = builder.Build();
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", (IServiceProvider services) =>
        {
            var system = services.GetRequiredService<Akka.Actor.ActorSystem>();
            var up = Akka.Cluster.Cluster.Get(system).SelfMember.Status == MemberStatus.Up;
            var ingesting = services.GetRequiredService<ObservationIngestion>().IsRunning;
            return up && ingesting
                ? Results.Text("ready\n")
                : Results.Text($"not ready: cluster member {(up ? "up" : "not up")}, ingestion {(ingesting ? "running" : "not running")}\n", statusCode: 503);
        });
        return app;
    }
}
