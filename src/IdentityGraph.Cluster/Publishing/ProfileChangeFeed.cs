using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using IdentityGraph.Cluster.Export;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Publishing;

/// <summary>How <see cref="ProfileChangeFeed"/> reads the journal.</summary>
public sealed record ProfileChangeFeedOptions
{
    /// <summary>Most journal events in one batch (one read); a profile slice's event holds many profiles' changes.</summary>
    public int BatchSize { get; init; } = 200;

    /// <summary>
    /// How long the feed waits for a <see cref="ProfileChangeSignal"/> before it reads the journal anyway: the bound on
    /// the delay of events no signal announced here (written on other nodes, or before a crash).
    /// </summary>
    public TimeSpan CatchUpInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>After the stop, how long the feed keeps reading what is durable; a read still running then is abandoned.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>One profile event as published: the contract event (with the snapshot after it) and its journal offset.</summary>
/// <param name="EndsProfile">The profile was merged away or erased: its snapshot is gone (a tombstone downstream).</param>
public sealed record ProfileChange(ProfileEvent Event, bool EndsProfile, long Offset);

/// <summary>
/// The profile events of one journal read, in journal order. <paramref name="Offset"/> is the journal offset of the
/// last event read (also when it was not a profile event): the checkpoint once the batch is delivered.
/// </summary>
/// <param name="LastTimestamp">When the last event was written, Unix milliseconds.</param>
/// <param name="ReadTime">How long the journal read took (its gap detection waits up to 10 s for an ordering number
/// that has not committed yet).</param>
/// <param name="After">The journal offset the read started after.</param>
public sealed record ProfileChangeBatch(IReadOnlyList<ProfileChange> Changes, long Offset, long LastTimestamp, TimeSpan ReadTime, long After);

/// <summary>
/// The journal side of publishing: reads the profile slices' events (tagged <c>profile</c>) in journal order after a
/// checkpoint and hands out the changes they hold as contract <see cref="ProfileEvent"/>s, in batches: each change
/// carries its event as published, with the profile after it, so nothing is replayed or cached. It reads when this node's <see cref="ProfileChangeSignal"/> says
/// a profile event is durable (many signals coalesce into one read), and at the latest every
/// <see cref="ProfileChangeFeedOptions.CatchUpInterval"/>, which covers what no signal announced: other nodes' writes
/// and whatever a crash left unpublished. Each read is the plugin's gap-aware <c>CurrentEventsByTag</c>, so an
/// ordering taken by a transaction that has not committed yet is waited for, not skipped. The checkpoint
/// (<see cref="OutboxCheckpoint"/>) is the caller's to save, once a batch is delivered.
/// </summary>
public sealed class ProfileChangeFeed(ActorSystem system, ProfileChangeFeedOptions options)
{
    private readonly OutboxCheckpoint checkpoint = new(system, "profile-events", TimeSpan.FromSeconds(30));

    /// <summary>The journal offset delivered up to (0 when nothing was published yet).</summary>
    public Task<long> LoadCheckpointAsync() => checkpoint.LoadAsync(CancellationToken.None);

    /// <summary>Records that everything up to <paramref name="batch"/>'s offset is delivered.</summary>
    public Task SaveCheckpointAsync(ProfileChangeBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return checkpoint.SaveAsync(batch.Offset);
    }

    /// <summary>
    /// The profile events after journal offset <paramref name="from"/>, batch by batch: at once what is already there,
    /// then whatever each signal or catch-up finds. Ends after <paramref name="stopping"/> fires, once a read after the
    /// stop found nothing new and no write was signalled since (what was durable before the stop gets out), or when
    /// <see cref="ProfileChangeFeedOptions.DrainTimeout"/> has passed since the stop. Throws when the journal fails;
    /// the caller starts again from its checkpoint.
    /// </summary>
    public async IAsyncEnumerable<ProfileChangeBatch> ReadAsync(long from, [EnumeratorCancellation] CancellationToken stopping)
    {
        // Before the first read: a write it does not see is then signalled.
        using var signal = ProfileChangeSignal.Get(system).Subscribe();
        var journal = await ProfileJournal.ReadJournalAsync(system, stopping);
        using var abandon = new CancellationTokenSource();
        using var onStop = stopping.Register(() => abandon.CancelAfter(options.DrainTimeout));
        var position = from;
        var more = true; // first catch up from the checkpoint
        var readSinceStop = false;
        while (!abandon.IsCancellationRequested)
        {
            if (!more)
            {
                if (!stopping.IsCancellationRequested)
                {
                    try
                    {
                        // Signalled or not, read: a time-out is the catch-up.
                        await signal.WaitAsync(options.CatchUpInterval, stopping);
                    }
                    catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                    {
                        // Stopping: read once more below.
                    }
                }

                if (stopping.IsCancellationRequested && readSinceStop && !signal.TryTake())
                {
                    yield break;
                }
            }

            readSinceStop |= stopping.IsCancellationRequested;
            var (batch, read) = await ReadBatchAsync(journal, position, abandon.Token);
            if (batch is null)
            {
                // Abandoned at the drain time-out: the next start reads it again.
                yield break;
            }

            more = read == options.BatchSize;
            if (read > 0)
            {
                position = batch.Offset;
                yield return batch;
            }
        }
    }

    /// <summary>One read: up to a batch of events after <paramref name="after"/>, as published changes; null when abandoned.</summary>
    private async Task<(ProfileChangeBatch? Batch, int Read)> ReadBatchAsync(SqlReadJournal journal, long after, CancellationToken abandon)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (killSwitch, read) = journal.CurrentEventsByTag(PersistenceHocon.ProfileTag, Offset.Sequence(after))
            .Take(options.BatchSize)
            .ViaMaterialized(KillSwitches.Single<EventEnvelope>(), Keep.Right)
            .ToMaterialized(Sink.Seq<EventEnvelope>(), Keep.Both)
            .Run(system.Materializer());
        try
        {
            IReadOnlyList<EventEnvelope> envelopes;
            using (abandon.Register(() => killSwitch.Abort(new OperationCanceledException(abandon))))
            {
                envelopes = await read;
            }

            var changes = new List<ProfileChange>(envelopes.Count);
            long offset = after, lastTimestamp = 0;
            foreach (var envelope in envelopes)
            {
                offset = ((Sequence)envelope.Offset).Value;
                lastTimestamp = envelope.Timestamp;
                foreach (var change in ProfileJournal.Changes(envelope))
                {
                    changes.Add(new ProfileChange(
                        change.Published,
                        change.Published.ChangeCase is ProfileEvent.ChangeOneofCase.MergedAway or ProfileEvent.ChangeOneofCase.Erased,
                        offset));
                }
            }

            return (new ProfileChangeBatch(changes, offset, lastTimestamp, clock.Elapsed, after), envelopes.Count);
        }
        catch (OperationCanceledException) when (abandon.IsCancellationRequested)
        {
            return (null, 0);
        }
    }
}
