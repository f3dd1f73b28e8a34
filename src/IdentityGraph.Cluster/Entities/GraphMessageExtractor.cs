using Akka.Cluster.Sharding;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Entities;

/// <summary>
/// Routes graph messages to their entity: identifier messages by identifier key, profile messages by profile id.
/// The shard count is fixed for the life of a deployment (changing it moves entities between shards).
/// </summary>
internal sealed class GraphMessageExtractor(int shardCount) : HashCodeMessageExtractor(shardCount)
{
    public override string? EntityId(object message) => message switch
    {
        GetIdentifierOwner m => m.Key,
        ClaimIdentifier m => m.Key,
        RepointIdentifier m => m.Key,
        ObserveProfile m => m.ProfileId,
        MergeProfileInto m => m.ProfileId,
        AbsorbProfile m => m.ProfileId,
        GetProfileRoot m => m.ProfileId,
        GetProfileState m => m.ProfileId,
        _ => null,
    };
}
