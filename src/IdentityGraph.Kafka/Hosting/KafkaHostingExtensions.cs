using Akka.Cluster.Hosting;
using Akka.Hosting;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Kafka.Ingestion;
using IdentityGraph.Kafka.Outbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Kafka.Hosting;

/// <summary>Registry key of the outbox singleton.</summary>
public sealed class OutboxSingleton;

/// <summary>Kafka in and out for a node that runs the graph (<c>AddIdentityGraph</c>).</summary>
public static class KafkaHostingExtensions
{
    /// <summary>
    /// Registers the ingestion consumer (a hosted service, stopped before the actor system so it can drain) and the
    /// statistics both directions report to. Call after <c>AddIdentityGraph</c>, and add
    /// <see cref="AddOutbox"/> to the actor system.
    /// </summary>
    public static IServiceCollection AddKafka(this IServiceCollection services, KafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        services.AddSingleton<IngestionStatistics>();
        services.AddSingleton<OutboxStatistics>();
        services.AddSingleton<FatalErrors>();
        services.AddSingleton<ObservationIngestion>();
        services.AddHostedService(provider => provider.GetRequiredService<ObservationIngestion>());
        return services;
    }

    /// <summary>Runs the outbox projection as a cluster singleton (when <see cref="OutboxOptions.Enabled"/>).</summary>
    public static AkkaConfigurationBuilder AddOutbox(this AkkaConfigurationBuilder builder, KafkaOptions options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Outbox.Enabled)
        {
            return builder;
        }

        var statistics = services.GetRequiredService<OutboxStatistics>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("IdentityGraph.Kafka.Outbox");
        return builder.WithSingleton<OutboxSingleton>(
            "outbox", OutboxRunner.PropsFor(options, statistics, services.GetRequiredService<JournalStatus>(), services.GetRequiredService<FatalErrors>(), logger), new ClusterSingletonOptions(), createProxyToo: false);
    }
}
