using Akka.Cluster.Sharding;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Entities;

/// <summary>
/// Routes graph messages to their entity: index and profile slice messages by slice.
/// The shard count is fixed for the life of a deployment (changing it moves entities between shards).
/// </summary>
internal sealed class GraphMessageExtractor(int shardCount) : HashCodeMessageExtractor(shardCount)
{
    public override string? EntityId(object message) => message switch
    {
        LookupOwners m => m.Slice,
        ClaimOwners m => m.Slice,
        RepointOwners m => m.Slice,
        ObserveProfiles m => m.Slice,
        GetProfileRoots m => m.Slice,
        AbsorbInSlice m => m.Slice,
        ReadForMerge m => m.Slice,
        RetireProfile m => m.Slice,
        GetSliceProfileState m => m.Slice,
        _ => null,
    };
}
