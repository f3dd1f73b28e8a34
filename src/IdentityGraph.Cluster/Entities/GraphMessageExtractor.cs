using Akka.Cluster.Sharding;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Entities;

/// <summary>
/// Routes graph messages to their entity: index slice messages by slice number, profile messages by profile id.
/// The shard count is fixed for the life of a deployment (changing it moves entities between shards).
/// </summary>
internal sealed class GraphMessageExtractor(int shardCount) : HashCodeMessageExtractor(shardCount)
{
    public override string? EntityId(object message) => message switch
    {
        ObserveProfileBatch m => m.ProfileId,
        LookupOwners m => m.Slice,
        ClaimOwners m => m.Slice,
        RepointOwners m => m.Slice,
        MergeProfileInto m => m.ProfileId,
        AbsorbProfile m => m.ProfileId,
        GetProfileRoot m => m.ProfileId,
        GetProfileState m => m.ProfileId,
        _ => null,
    };
}
