using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using IdentityGraph.Cluster.Entities;
using IdentityGraph.Cluster.Hosting;
using Microsoft.Extensions.Hosting;

namespace IdentityGraph.Cluster.Telemetry;

/// <summary>
/// Metrics of this node's part of the graph: cluster members as this node sees them, and the entities it hosts.
/// Entity counts come from the shard regions every few seconds (an ask each), not on every scrape.
/// </summary>
public sealed class GraphTelemetry : BackgroundService
{
    /// <summary>The meter every graph metric is on.</summary>
    public const string MeterName = "IdentityGraph.Cluster";

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);
    private static readonly (MemberStatus Status, string Label)[] Statuses =
    [
        (MemberStatus.Joining, "joining"), (MemberStatus.WeaklyUp, "weakly_up"), (MemberStatus.Up, "up"),
        (MemberStatus.Leaving, "leaving"), (MemberStatus.Exiting, "exiting"), (MemberStatus.Down, "down"),
    ];

    private readonly ActorSystem system;
    private readonly ActorRegistry registry;
    private long profiles = -1;
    private long slices = -1;

    public GraphTelemetry(ActorSystem system, ActorRegistry registry, IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        this.system = system;
        this.registry = registry;
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("identitygraph.cluster.members", ObserveMembers, "{member}",
            "Cluster members as this node sees them, by status; unreachable members are also counted under status=unreachable.");
        meter.CreateObservableGauge("identitygraph.active_entities", ObserveEntities, "{entity}",
            "Entities this node holds in memory, by type (profile: profile slices, index: identifier-index slices).");
    }

    private IEnumerable<Measurement<long>> ObserveMembers()
    {
        var state = Akka.Cluster.Cluster.Get(system).State;
        foreach (var (status, label) in Statuses)
        {
            yield return new Measurement<long>(state.Members.Count(m => m.Status == status), new KeyValuePair<string, object?>("status", label));
        }

        yield return new Measurement<long>(state.Unreachable.Count, new KeyValuePair<string, object?>("status", "unreachable"));
    }

    private IEnumerable<Measurement<long>> ObserveEntities()
    {
        // Unknown until the first poll answered: no sample rather than a made-up zero.
        if (Interlocked.Read(ref profiles) is var p and >= 0)
        {
            yield return new Measurement<long>(p, new KeyValuePair<string, object?>("type", "profile"));
        }

        if (Interlocked.Read(ref slices) is var i and >= 0)
        {
            yield return new Measurement<long>(i, new KeyValuePair<string, object?>("type", "index"));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval);
        try
        {
            do
            {
                Interlocked.Exchange(ref profiles, await CountAsync<ProfileRegion>(stoppingToken));
                Interlocked.Exchange(ref slices, await CountAsync<IndexRegion>(stoppingToken));
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task<long> CountAsync<TRegion>(CancellationToken cancellationToken)
    {
        try
        {
            var state = await registry.Get<TRegion>().Ask<CurrentShardRegionState>(GetShardRegionState.Instance, PollInterval, cancellationToken);
            return state.Shards.Sum(s => (long)s.EntityIds.Count);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // A busy, starting or stopping region: report nothing this round. A metrics poller must never fault the
            // host (a failed BackgroundService stops the application).
            return -1;
        }
    }
}
