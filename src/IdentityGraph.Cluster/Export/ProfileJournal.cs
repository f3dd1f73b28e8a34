using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Export;

/// <summary>Reading profile changes back from the journal (export, outbox): which profile, which published event, which domain event.</summary>
public static class ProfileJournal
{
    /// <summary>The read journal the graph writes to.</summary>
    public static SqlReadJournal ReadJournal(ActorSystem system) =>
        PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(PersistenceHocon.QueryPluginId);

    /// <summary>
    /// <see cref="ReadJournal"/>, retried: the plugin's constructor asks the write journal with a fixed 5 s time-out,
    /// which a starting node on a loaded machine can miss; the query side must not fail for good because of it.
    /// </summary>
    public static async Task<SqlReadJournal> ReadJournalAsync(ActorSystem system, CancellationToken cancellationToken = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return ReadJournal(system);
            }
            catch (AggregateException e) when (attempt < 12 && e.InnerExceptions.All(i => i is AskTimeoutException))
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    /// <summary>
    /// The profile changes of a journal entry, in the order they were decided: each profile's published event (with the
    /// profile after it) and domain event; none for anything that is not a profile slice's event.
    /// </summary>
    internal static IReadOnlyList<ProfileChangeData> Changes(EventEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return envelope.Event is ProfileSliceChangedEvent changed ? changed.Changes : [];
    }
}
