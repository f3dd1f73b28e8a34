using System.Data.Common;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Server.Configuration;

namespace IdentityGraph.Server.Hosting;

/// <summary>
/// Refuses, before the graph starts, a database written by a design before slices (one persistent entity per
/// identifier, or per profile), or slices written with another slice count: this version would not see those
/// identifiers or profiles and would create a second profile for every returning customer. There is no in-place
/// migration; docs/operations.md › Upgrading from per-identifier or per-profile entities says how to rebuild.
/// </summary>
public static class StorageUpgrade
{
    private const string Rebuild =
        "Rebuild the graph into an empty database: replay the input topic from the beginning with a new consumer group " +
        "(IdentityGraph:Kafka:GroupId), or run 'identitygraph import' over the observations. See docs/operations.md, " +
        "'Upgrading from per-identifier or per-profile entities'.";

    public const string PerIdentifierEntitiesMessage =
        "The database was written by an IdentityGraph version that kept one entity per identifier (persistence ids " +
        "'identifier-…'); this version keeps identifiers in index slices and cannot read it. " + Rebuild;

    public const string PerProfileEntitiesMessage =
        "The database was written by an IdentityGraph version that kept one entity per profile (persistence ids " +
        "'profile-…'); this version keeps profiles in profile slices and cannot read it. " + Rebuild;

    /// <summary>
    /// Throws <see cref="ConfigurationException"/> when <paramref name="journal"/> holds the old design's data or an
    /// index written with another slice count.
    /// </summary>
    /// <remarks>A database that cannot be reached is not refused here: the node starts not ready, as it always has.</remarks>
    public static async Task ThrowIfOldDesignAsync(JournalStatus journal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(journal);
        string? unreadable;
        try
        {
            unreadable = await journal.UnreadableIndexRowAsync(cancellationToken);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException or IOException ||
            (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return;
        }

        if (unreadable is null)
        {
            return;
        }

        throw new ConfigurationException([unreadable.StartsWith(JournalStatus.LegacyIdentifierPrefix, StringComparison.Ordinal)
            ? PerIdentifierEntitiesMessage
            : unreadable.StartsWith(JournalStatus.LegacyProfilePrefix, StringComparison.Ordinal)
            ? PerProfileEntitiesMessage
            : $"The database's slices were written with another slice count ('{unreadable}'; this node uses " +
              $"{journal.IndexSlices}, IdentityGraph:Graph:IndexSlices), and an index cannot be read with another count. " +
              "Start with the count it was written with, or rebuild. " + Rebuild]);
    }
}
