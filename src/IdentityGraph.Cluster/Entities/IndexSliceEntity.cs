using Akka.Actor;
using Akka.Persistence;
using IdentityGraph.Cluster.Wire;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Index;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Entities;

/// <summary>
/// One slice of the identifier index (docs/architecture.md): a thin persistent shell over <see cref="IndexSlice"/>.
/// Holds identifier key → owning profile in memory; a decision (all claims or repoints of one message) is written as
/// one journal event, and answered only when it is durable, so no one hears of an owner a crash could take back.
/// A never-seen identifier is a dictionary miss: no activation, no SQL.
/// </summary>
/// <remarks>
/// <c>Persist</c>, not <c>PersistAsync</c>: commands that arrive during a write wait (stash) until it is durable, so the
/// in-memory state is always the durable state between messages, and a snapshot is always exact. One write per
/// message is enough: a message carries a whole batch's keys for this slice.
/// </remarks>
internal sealed class IndexSliceEntity : UntypedPersistentActor
{
    public const string TypeName = "index";

    private readonly int snapshotEvery;
    private IndexSlice slice = new();
    private long lastSnapshotAt;
    // The snapshot before the latest one: events are deleted only up to it (see SaveSnapshotSuccess).
    private long previousSnapshotAt;

    public IndexSliceEntity(string entityId, int snapshotEvery)
    {
        this.snapshotEvery = snapshotEvery;
        PersistenceId = TypeName + "-" + entityId;
    }

    public override string PersistenceId { get; }

    public static Props PropsFor(string entityId, int snapshotEvery) =>
        Props.Create(() => new IndexSliceEntity(entityId, snapshotEvery));

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: IndexSnapshotData snapshot } offer:
                slice = IndexSlice.FromSnapshot(snapshot.Entries.Select(e => new IndexEntry(new IdentifierKey(e.Key), ProfileId.Parse(e.Owner), e.Version)));
                lastSnapshotAt = offer.Metadata.SequenceNr;
                previousSnapshotAt = offer.Metadata.SequenceNr;
                break;
            case IndexChangedEvent e:
                foreach (var change in e.Changes)
                {
                    slice.Apply(new IndexChange(new IdentifierKey(change.Key), ProfileId.Parse(change.Owner), change.Version));
                }

                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case LookupOwners m:
                var answer = new OwnersAnswer();
                answer.Owners.AddRange(m.Keys.Select(k => slice.Lookup(new IdentifierKey(k)).Owner?.Value ?? ""));
                Sender.Tell(answer);
                break;
            case ClaimOwners m:
                Write(slice.DecideClaims([.. m.Claims.Select(c => new ClaimRequest(new IdentifierKey(c.Key), ProfileId.Parse(c.Candidate)))]));
                break;
            case RepointOwners m:
                Write(slice.DecideRepoints([.. m.Repoints.Select(r => new RepointRequest(new IdentifierKey(r.Key), ProfileId.Parse(r.From), ProfileId.Parse(r.To)))]));
                break;
            case StopEntity:
                Context.Stop(Self);
                break;
            case SaveSnapshotSuccess s:
                // The snapshot holds everything before it: older snapshots are no longer needed, and neither are the
                // events, but those go one snapshot later. Deleting rows leaves holes in the journal's ordering, and
                // the read journal's gap detection waits 10 s for a hole it has not yet seen filled (the outbox's
                // reads too, a ten-second publishing stall): events deleted right after they were written could be
                // such a hole; events a whole snapshot interval old have long been seen.
                DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
                if (previousSnapshotAt > 0)
                {
                    DeleteMessages(previousSnapshotAt);
                }

                previousSnapshotAt = s.Metadata.SequenceNr;
                break;
            case SaveSnapshotFailure or DeleteSnapshotsSuccess or DeleteSnapshotsFailure or DeleteMessagesSuccess or DeleteMessagesFailure:
                break; // a missing snapshot or undeleted events only make recovery longer
            default:
                Unhandled(message);
                break;
        }
    }

    private void Write(IndexDecision decision)
    {
        var answer = new OwnersAnswer();
        answer.Owners.AddRange(decision.Answers.Select(a => a.Owner?.Value ?? ""));
        if (decision.Changes.Count == 0)
        {
            // Persist stashes commands during a write, so nothing is pending here: every owner named is durable.
            Sender.Tell(answer);
            return;
        }

        slice.Stage(decision.Changes);
        var changed = new IndexChangedEvent();
        changed.Changes.AddRange(decision.Changes.Select(c => new IndexEntryData { Key = c.Key.Value, Owner = c.Owner.Value, Version = c.Version }));
        var sender = Sender;
        Persist(changed, _ =>
        {
            slice.MarkDurable(decision.Changes);
            sender.Tell(answer);
            SnapshotIfDue();
        });
    }

    private void SnapshotIfDue()
    {
        if (LastSequenceNr - lastSnapshotAt < snapshotEvery)
        {
            return;
        }

        lastSnapshotAt = LastSequenceNr;
        var snapshot = new IndexSnapshotData();
        snapshot.Entries.AddRange(slice.ToSnapshot().Select(e => new IndexEntryData { Key = e.Key.Value, Owner = e.Owner.Value, Version = e.Version }));
        SaveSnapshot(snapshot);
    }
}
