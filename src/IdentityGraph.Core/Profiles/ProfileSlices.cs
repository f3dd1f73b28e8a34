namespace IdentityGraph.Core.Profiles;

/// <summary>
/// Which profile slice holds a profile (docs/architecture.md › Components). Like <see cref="Index.IndexSlices"/>, the
/// answer must be the same on every node and in every process for the life of a database, so it is a fixed hash of the
/// id's text (FNV-1a), never <see cref="string.GetHashCode()"/>.
/// </summary>
public static class ProfileSlices
{
    /// <summary>The slice (0 to <paramref name="sliceCount"/> − 1) of <paramref name="id"/>.</summary>
    public static int SliceOf(ProfileId id, int sliceCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sliceCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sliceCount, Index.IndexSlices.MaxSliceCount);
        var hash = 2166136261u;
        foreach (var c in id.Value)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % (uint)sliceCount);
    }
}
