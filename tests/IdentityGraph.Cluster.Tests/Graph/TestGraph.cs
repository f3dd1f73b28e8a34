using Akka.Hosting;
using IdentityGraph.Cluster.Hosting;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IdentityGraph.Cluster.Tests.Graph;

/// <summary>
/// A real single-node graph (actor system, sharding, Akka.Persistence.Sql) on real storage, started through the same
/// <see cref="IdentityGraphHostingExtensions.AddIdentityGraph(IServiceCollection, IdentityGraphOptions, Action{Akka.Hosting.AkkaConfigurationBuilder, IServiceProvider}?)"/>
/// the server uses. Stop it and start another on the same storage to test recovery.
/// </summary>
public sealed class TestGraph : IAsyncDisposable
{
    private readonly IHost host;

    private TestGraph(IHost host, StorageSettings storage)
    {
        this.host = host;
        Storage = storage;
    }

    public StorageSettings Storage { get; }

    public IdentityResolver Resolver => host.Services.GetRequiredService<IdentityResolver>();

    public IServiceProvider Services => host.Services;

    public Akka.Actor.ActorSystem System => host.Services.GetRequiredService<Akka.Actor.ActorSystem>();

    public static ObservationNormalizer Normalizer { get; } = new(
        new IdentifierNormalizer(new NormalizationOptions { DefaultPhoneRegion = "DK" }),
        new IdentifierKeyer(IdentifierKeyer.DevelopmentSecret));

    public static async Task<TestGraph> StartAsync(
        StorageSettings storage, int snapshotEvery = 500, Core.Profiles.ProfileLimits? limits = null, BatchingOptions? batching = null, int indexSnapshotEvery = 500)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(Normalizer);
        var options = new IdentityGraphOptions
        {
            Storage = storage,
            ShardCount = 10,
            SnapshotEvery = snapshotEvery,
            IndexSnapshotEvery = indexSnapshotEvery,
            AskTimeout = TimeSpan.FromSeconds(60),
            Limits = limits ?? Core.Profiles.ProfileLimits.Default,
            Batching = batching ?? new BatchingOptions(),
        };

        builder.Services.AddIdentityGraph(options, (akka, _) => akka.LogThroughLoggerFactory(Akka.Event.LogLevel.WarningLevel));
        var host = builder.Build();
        await host.StartAsync();
        return new TestGraph(host, storage);
    }

    /// <summary>Stops the node abruptly enough to lose in-flight work: no drain, no hand-off wait.</summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(timeout.Token);
        host.Dispose();

        // Each graph's database has its own connection pool; close the idle connections now rather than after
        // Npgsql's idle timeout, or a run of PostgreSQL suites exhausts the server's connection slots.
        Npgsql.NpgsqlConnection.ClearAllPools();
    }
}
