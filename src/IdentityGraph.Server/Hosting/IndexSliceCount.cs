using System.Data.Common;
using System.Diagnostics;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Server.Configuration;

namespace IdentityGraph.Server.Hosting;

/// <summary>
/// Settles <c>IdentityGraph:Graph:IndexSlices</c> = 0 ("as written") before a graph starts: the count the database's
/// index was written with, or <see cref="Core.Index.IndexSlices.DefaultSliceCount"/> for a database without an index.
/// An index cannot be read with another count, and databases written before the default changed have 64 slices, so
/// the count comes from the data rather than from a default that would drift (docs/identifier-index.md › Slice count).
/// </summary>
public static class IndexSliceCount
{
    /// <summary>How long to wait for a database that cannot be read yet (a node started before its database).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Sets <paramref name="graph"/>'s slice count from <paramref name="storage"/> when it is 0; an explicit count is kept.</summary>
    /// <exception cref="ConfigurationException">The database could not be read within <see cref="Patience"/>.</exception>
    public static async Task ResolveAsync(GraphSettings graph, StorageSettings storage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (graph.IndexSlices != 0)
        {
            return;
        }

        var journal = new JournalStatus(storage);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                graph.IndexSlices = await journal.WrittenIndexSlicesAsync(cancellationToken) ?? Core.Index.IndexSlices.DefaultSliceCount;
                return;
            }
            catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException or IOException ||
                (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                if (waited.Elapsed >= Patience)
                {
                    throw new ConfigurationException([
                        $"Could not read the database for {Patience.TotalSeconds:0} s to learn the slice count its identifier index " +
                        $"was written with ({e.Message}). Start when it is reachable, or set {ServerSettings.Section}:Graph:IndexSlices " +
                        "(64 for databases written before 2026-12-07, 16 for newer ones)."]);
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }
}
