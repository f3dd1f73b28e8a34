using System.Diagnostics.CodeAnalysis;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using IdentityGraph.Cluster.Entities;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Export;

/// <summary>Reading profile events back from the journal (export, outbox): which profile, which domain event.</summary>
public static class ProfileJournal
{
    private static readonly string Prefix = ProfileEntity.TypeName + "-";

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

    /// <summary>The profile and domain event of a journal entry; false for anything that is not a profile event.</summary>
    public static bool TryRead(EventEnvelope envelope, out ProfileId profileId, [NotNullWhen(true)] out IProfileEvent? change)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        profileId = default;
        change = null;
        return envelope.PersistenceId.StartsWith(Prefix, StringComparison.Ordinal)
            && ProfileId.TryParse(envelope.PersistenceId[Prefix.Length..], out profileId)
            && WireMapping.TryFromWire(envelope.Event, out change);
    }

    /// <summary>The state of <paramref name="profileId"/> after its first <paramref name="sequenceNr"/> events.</summary>
    public static async Task<ProfileState> ReplayAsync(ActorSystem system, ProfileId profileId, long sequenceNr, CancellationToken cancellationToken = default)
    {
        var state = ProfileState.Empty;
        if (sequenceNr < 1)
        {
            return state;
        }

        await (await ReadJournalAsync(system, cancellationToken)).CurrentEventsByPersistenceId(Prefix + profileId, 1, sequenceNr)
            .RunForeach(
                envelope =>
                {
                    if (WireMapping.TryFromWire(envelope.Event, out var change))
                    {
                        state = ProfileDecider.Apply(state, change);
                    }
                },
                system.Materializer())
            .WaitAsync(cancellationToken);
        return state;
    }
}
