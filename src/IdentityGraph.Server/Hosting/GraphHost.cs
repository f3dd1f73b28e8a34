using Akka.Hosting;
using IdentityGraph.Cluster.Hosting;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Server.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Server.Hosting;

/// <summary>A single embedded graph node for the command-line tools (import, export): quiet, started and stopped by the command.</summary>
public static class GraphHost
{
    /// <summary>Builds and starts a host running the graph on <paramref name="storage"/>.</summary>
    public static async Task<IHost> StartAsync(IConfiguration configuration, StorageSettings storage, CancellationToken cancellationToken)
    {
        var identity = SettingsLoader.Identity(configuration);
        var server = SettingsLoader.Server(configuration);
        var problems = identity.Validate().Concat(server.Graph.Validate()).ToList();
        if (problems.Count > 0)
        {
            throw new ConfigurationException(problems);
        }

        await IndexSliceCount.ResolveAsync(server.Graph, storage, cancellationToken);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(new ObservationNormalizer(
            new IdentifierNormalizer(identity.ToNormalizationOptions()), identity.CreateKeyer()));
        builder.Services.AddIdentityGraph(
            server.Graph.ApplyTo(new IdentityGraphOptions { Storage = storage, Limits = identity.ToProfileLimits() }),
            (akka, _) => akka.LogThroughLoggerFactory(Akka.Event.LogLevel.WarningLevel));

        var host = builder.Build();
        try
        {
            await StorageUpgrade.ThrowIfOldDesignAsync(host.Services.GetRequiredService<JournalStatus>(), cancellationToken);
            await host.StartAsync(cancellationToken);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>The resolver of a started host.</summary>
    public static IdentityResolver Resolver(this IHost host) => host.Services.GetRequiredService<IdentityResolver>();
}
