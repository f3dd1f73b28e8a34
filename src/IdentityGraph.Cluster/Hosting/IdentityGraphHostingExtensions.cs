using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Remote.Hosting;
using IdentityGraph.Cluster.Entities;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Cluster.Telemetry;
using IdentityGraph.Cluster.Wire;
using IdentityGraph.Core.Observations;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityGraph.Cluster.Hosting;

/// <summary>Registry key of the profile slice shard region.</summary>
public sealed class ProfileRegion;

/// <summary>Registry key of the identifier-index slice shard region.</summary>
public sealed class IndexRegion;

/// <summary>The one way to run the identity graph: the server, the CLI and the tests all start it through here.</summary>
public static class IdentityGraphHostingExtensions
{
    /// <summary>
    /// Adds the graph to an actor system: serializer, persistence, remoting, clustering (a single node joins itself when
    /// no seed nodes are given) and the two shard regions. Profile writes, once durable, raise the system's
    /// <see cref="Publishing.ProfileChangeSignal"/> (an Akka extension, created on first use), which a publisher reads
    /// with <see cref="Publishing.ProfileChangeFeed"/>.
    /// </summary>
    public static AkkaConfigurationBuilder AddIdentityGraph(this AkkaConfigurationBuilder builder, IdentityGraphOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);

        builder
            .AddHocon(GraphSerializer.Hocon, HoconAddMode.Prepend)
            .AddHocon(PersistenceHocon.Build(options.Storage), HoconAddMode.Prepend)
            // Remember-entities is off, so sharding keeps nothing on disk (no LMDB files beside the database).
            .AddHocon("akka.cluster.sharding.distributed-data.durable.keys = []", HoconAddMode.Prepend)
            // Every slice recovers at start; the setting bounds how many at once (they share the connection pool).
            .AddHocon($"akka.persistence.max-concurrent-recoveries = {options.MaxConcurrentRecoveries}", HoconAddMode.Prepend)
            // The host stops the actor system last (Akka.Hosting runs coordinated shutdown in its StopAsync). Akka's own
            // SIGTERM hook would start it first, before Kafka ingestion has drained and committed.
            .AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend)
            .WithRemoting(options.Hostname, options.Port, options.PublicHostname)
            // Keep-majority split-brain resolution, stated rather than left to the library default: after a network
            // partition the minority side downs itself, so no profile entity runs on both sides.
            .WithClustering(new ClusterOptions { SeedNodes = [.. options.SeedNodes], SplitBrainResolver = SplitBrainResolverOption.Default });

        ShardOptions ShardOptions(TimeSpan? passivateIdleAfter) => new()
        {
            StateStoreMode = StateStoreMode.DData,
            RememberEntities = false,
            HandOffStopMessage = new StopEntity(),
            PassivateIdleEntityAfter = passivateIdleAfter,
            JournalPluginId = PersistenceHocon.JournalPluginId,
            SnapshotPluginId = PersistenceHocon.SnapshotPluginId,
        };
        var extractor = new GraphMessageExtractor(options.ShardCount);
        builder
            // A slice holds a share of all profiles or of the whole index in memory: recovering it costs more than
            // keeping it, so neither is passivated.
            .WithShardRegion<ProfileRegion>(
                ProfileSliceEntity.TypeName, id => ProfileSliceEntity.PropsFor(id, options.SnapshotEvery, options.DecodedProfilesPerSlice, options.Limits), extractor, ShardOptions(TimeSpan.Zero))
            .WithShardRegion<IndexRegion>(
                IndexSliceEntity.TypeName, id => IndexSliceEntity.PropsFor(id, options.IndexSnapshotEvery), extractor, ShardOptions(TimeSpan.Zero));
        if (options.SeedNodes.Count == 0)
        {
            builder.WithActors((system, _) =>
            {
                var cluster = Akka.Cluster.Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            });
        }

        return builder;
    }

    /// <summary>
    /// Sends Akka's log through Microsoft.Extensions.Logging at <paramref name="level"/> and above, instead of Akka's own
    /// logger, which writes to stdout (where the commands write their results).
    /// </summary>
    public static AkkaConfigurationBuilder LogThroughLoggerFactory(this AkkaConfigurationBuilder builder, Akka.Event.LogLevel level) =>
        builder.ConfigureLoggers(loggers =>
        {
            loggers.LogLevel = level;
            loggers.ClearLoggers();
            loggers.AddLoggerFactory();
        });

    /// <summary>
    /// Adds the actor system with the graph, an <see cref="IdentityResolver"/> singleton, the journal's
    /// <see cref="JournalStatus"/>, the graph's metrics (<see cref="GraphTelemetry"/>) and the index's start with the node
    /// (<see cref="IndexStartup"/>). Needs an
    /// <see cref="ObservationNormalizer"/> in the container.
    /// </summary>
    public static IServiceCollection AddIdentityGraph(
        this IServiceCollection services,
        IdentityGraphOptions options,
        Action<AkkaConfigurationBuilder, IServiceProvider>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Storage.Prepare();
        services.AddAkka(options.ActorSystemName, (builder, provider) =>
        {
            builder.AddIdentityGraph(options);
            configure?.Invoke(builder, provider);
        });
        services.AddSingleton(new JournalStatus(options.Storage, options.IndexSlices));
        services.AddSingleton<GraphTelemetry>();
        services.AddHostedService(provider => provider.GetRequiredService<GraphTelemetry>());
        services.AddSingleton(provider =>
        {
            var registry = provider.GetRequiredService<ActorRegistry>();
            var system = provider.GetRequiredService<Akka.Actor.ActorSystem>();
            var resolver = new IdentityResolver(
                registry.Get<ProfileRegion>(),
                registry.Get<IndexRegion>(),
                provider.GetRequiredService<ObservationNormalizer>(),
                options.AskTimeout,
                options.Limits,
                options.IndexSlices,
                options.Batching);

            // Without the actor system every ask would wait out its time-out, batch after batch.
            system.WhenTerminated.ContinueWith(
                _ => resolver.Stop(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return resolver;
        });
        services.AddSingleton<IndexStartup>();
        services.AddHostedService(provider => provider.GetRequiredService<IndexStartup>());
        return services;
    }
}
