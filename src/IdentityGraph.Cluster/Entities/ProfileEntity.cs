using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Publishing;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Cluster.Telemetry;
using IdentityGraph.Cluster.Wire;
using IdentityGraph.Core.Profiles;
using AbsorbProfile = IdentityGraph.Cluster.Wire.AbsorbProfile;
using Domain = IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Entities;

/// <summary>
/// One per identity cluster: a thin persistent shell over <see cref="ProfileDecider"/>. Decides on the state including
/// events still being written (PersistAsync batches them, which keeps a hot profile fast) and answers each command
/// only when its events are durable; answers that write nothing wait for the writes before them, so no one hears of a
/// state that a crash could take back. (Not DeferAsync: Akka.Persistence.Sql 1.5.73 fails a journal batch that holds
/// only deferred entries, "Sequence contains no elements", and its circuit breaker then fails every write.) A merged-away profile forwards everything to its survivor.
/// </summary>
internal sealed class ProfileEntity : UntypedPersistentActor, IWithStash
{
    public const string TypeName = "profile";

    private readonly int snapshotEvery;
    private readonly TimeSpan askTimeout;
    private readonly ProfileLimits limits;
    private readonly ProfileId id;
    private ProfileState state;
    private long lastSnapshotAt;
    private IActorRef region = ActorRefs.Nobody;
    private ActiveProfiles active = null!;
    private LinkedListNode<IActorRef> activeNode = null!;
    private bool passivating;
    private bool diverged;
    private PassivatedProfiles passivated = null!;
    private readonly ProfileChangeSignal changes;
    private Google.Protobuf.IMessage? lastEnqueued;
    private readonly Dictionary<Google.Protobuf.IMessage, List<Action>> afterWrite = new(ReferenceEqualityComparer.Instance);

    public ProfileEntity(string entityId, int snapshotEvery, TimeSpan askTimeout, ProfileLimits limits)
    {
        id = ProfileId.Parse(entityId);
        this.snapshotEvery = snapshotEvery;
        this.askTimeout = askTimeout;
        this.limits = limits;
        state = ProfileState.Empty;
        PersistenceId = PersistenceIdOf(entityId);
        changes = ProfileChangeSignal.Get(Context.System);
    }

    public override string PersistenceId { get; }

    /// <summary>The persistence id of profile <paramref name="profileId"/>'s journal.</summary>
    public static string PersistenceIdOf(string profileId) => TypeName + "-" + profileId;

    /// <remarks>
    /// Arguments, not <c>Props.Create(() => new ProfileEntity(…))</c>: Akka evaluates each argument of such an
    /// expression by compiling it, i.e. a JIT compilation per argument for every profile activated — measured as most
    /// of a node's CPU when new profiles arrive at a few hundred per second.
    /// </remarks>
    public static Props PropsFor(string entityId, int snapshotEvery, TimeSpan askTimeout, ProfileLimits limits) =>
        Props.Create<ProfileEntity>(entityId, snapshotEvery, askTimeout, limits);

    protected override void PreStart()
    {
        region = ClusterSharding.Get(Context.System).ShardRegion(TypeName);
        active = ActiveProfiles.Get(Context.System);
        passivated = PassivatedProfiles.Get(Context.System);
        passivated.Activating(PersistenceId, Context.Parent);
        activeNode = active.Started(Self);
        base.PreStart();
    }

    protected override void PostStop()
    {
        active.Stopped(activeNode);
        base.PostStop();
    }

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: CachedProfileState kept }:
                // This node's own copy of the state it passivated with; the journal replays anything newer.
                state = WireMapping.FromWire(kept.Snapshot());
                lastSnapshotAt = kept.StoredSnapshotAt;
                break;
            case SnapshotOffer { Snapshot: ProfileSnapshotData snapshot } offer:
                state = WireMapping.FromWire(snapshot);
                lastSnapshotAt = offer.Metadata.SequenceNr;
                break;
            case Google.Protobuf.IMessage e when WireMapping.TryFromWire(e, out var domainEvent):
                state = ProfileDecider.Apply(state, domainEvent);
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        active.Used(activeNode);
        switch (message)
        {
            case PassivateProfile:
                // The least recently used profile on a node at its limit (ActiveProfiles): the shard buffers what
                // arrives meanwhile and starts a new incarnation for it, which recovers from the journal.
                if (!passivating)
                {
                    passivating = true;
                    Context.Parent.Tell(new Passivate(new StopEntity()));
                }

                break;
            case ObserveProfileBatch m:
                ObserveBatch(m);
                break;
            case AbsorbProfile m:
                Absorb(m);
                break;
            case MergeProfileInto m:
                MergeInto(m);
                break;
            case GetProfileRoot:
                Sender.Tell(new ProfileRoot
                {
                    ProfileId = id.ToString(),
                    MergedInto = state.MergedInto?.ToString() ?? "",
                    Exists = state.Status != ProfileStatus.Absent,
                    IdentifierCount = state.Content.Identifiers.Count,
                });
                break;
            case GetProfileState:
                var snapshot = WireMapping.ToWire(id, state);
                var sender = Sender;
                AfterPendingWrites(() => sender.Tell(snapshot));
                break;
            case StopEntity:
                // Let the writes in flight finish and answer their callers first; then the state is the durable state at
                // LastSequenceNr, which the next activation on this node may read from memory instead of the database.
                AfterPendingWrites(() =>
                {
                    if (!diverged)
                    {
                        passivated.Keep(PersistenceId, LastSequenceNr, lastSnapshotAt, WireMapping.ToWire(id, state), Context.Parent);
                    }

                    Context.Stop(Self);
                });
                break;
            case SaveSnapshotSuccess s:
                DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
                break;
            case SaveSnapshotFailure or DeleteSnapshotsSuccess or DeleteSnapshotsFailure:
                break; // a missing snapshot only makes recovery longer
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>
    /// A refused write leaves the state (decided ahead of its writes) ahead of the journal: stop, so that the next command
    /// recovers the durable state, instead of deciding on what was never written (Akka's default carries on).
    /// </summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        diverged = true;
        Context.Stop(Self);
    }

    /// <summary>A micro-batch's observations for this profile: decided in order, written as at most one event.</summary>
    private void ObserveBatch(ObserveProfileBatch m)
    {
        if (state is { Status: ProfileStatus.MergedAway, MergedInto: { } survivor })
        {
            region.Forward(new ObserveProfileBatch(m) { ProfileId = survivor.ToString() });
            return;
        }

        var wasAbsent = state.Status == ProfileStatus.Absent;
        var (result, changed) = ProfileDecider.DecideBatch(state, [.. m.Observations.Select(WireMapping.FromWire)], limits);
        ProfileLimitMetrics.AttributesDropped(result.AttributesDropped);
        var reply = new ObserveBatchResult { ProfileId = id.ToString(), Created = wasAbsent && result.Events.Count > 0 };
        reply.Changed.AddRange(changed);
        Write(result, reply);
    }

    private void Absorb(AbsorbProfile m)
    {
        if (state is { Status: ProfileStatus.MergedAway, MergedInto: { } survivor })
        {
            region.Forward(new AbsorbProfile(m) { ProfileId = survivor.ToString() });
            return;
        }

        var command = new Domain.AbsorbProfile(
            id, ProfileId.Parse(m.Absorbed), WireMapping.FromWire(m.Content), m.ObservationId, WireMapping.FromWire(m.OccurredAt));
        var result = ProfileDecider.Decide(state, command, limits);
        ProfileLimitMetrics.AttributesDropped(result.AttributesDropped);
        Write(result, new AbsorbResult { ProfileId = id.ToString(), Changed = result.Events.Count > 0 });
    }

    /// <summary>
    /// Retire into a smaller survivor: hand the content over, wait until the survivor has absorbed it durably, then
    /// record the redirect. Everything else waits (stash) meanwhile; only a larger id ever waits for a smaller one.
    /// </summary>
    private void MergeInto(MergeProfileInto m)
    {
        var survivor = ProfileId.Parse(m.Survivor);
        if (state.Status == ProfileStatus.MergedAway)
        {
            Sender.Tell(state.MergedInto == survivor
                ? new MergeResult { Merged = true }
                : new MergeResult { Redirect = state.MergedInto!.Value.ToString() });
            return;
        }

        var retire = new RetireIntoSurvivor(id, survivor, m.ObservationId, WireMapping.FromWire(m.OccurredAt));
        var check = ProfileDecider.Decide(state, retire);
        if (check.Rejection is { } rejection)
        {
            Sender.Tell(new Status.Failure(new InvalidOperationException($"{rejection.Code}: {rejection.Message}")));
            return;
        }

        var caller = Sender;
        var absorb = new AbsorbProfile
        {
            ProfileId = m.Survivor,
            Absorbed = id.ToString(),
            Content = WireMapping.ToWire(state.Content),
            ObservationId = m.ObservationId,
            OccurredAt = m.OccurredAt,
        };
        // Re-sent until answered: a survivor whose recovery failed drops the absorb, and this profile stashes everything
        // while it waits (an absorb is idempotent).
        Resolution.ResendingAsk.Ask<AbsorbResult>(region, absorb, askTimeout, Resolution.ResendingAsk.Soon, CancellationToken.None)
            .PipeTo(Self, success: r => new HandedOver(r, m, caller), failure: e => new HandOverFailed(e, caller));
        BecomeStacked(AwaitingSurvivor);
    }

    private bool AwaitingSurvivor(object message)
    {
        switch (message)
        {
            case HandedOver done:
                var result = ProfileDecider.Decide(state, new RetireIntoSurvivor(
                    id, ProfileId.Parse(done.Request.Survivor), done.Request.ObservationId, WireMapping.FromWire(done.Request.OccurredAt)));
                if (result.Rejection is { } rejection)
                {
                    done.Caller.Tell(new Status.Failure(new InvalidOperationException($"{rejection.Code}: {rejection.Message}")));
                    Resume();
                    return true;
                }

                if (result.Events.Count == 0)
                {
                    done.Caller.Tell(new MergeResult { Merged = true });
                    Resume();
                    return true;
                }

                // Persist, not PersistAsync: the redirect must be durable before anyone hears of it.
                PersistAll(result.Events.Select(WireMapping.ToWire), e =>
                {
                    var before = state;
                    state = ProfileDecider.Apply(state, WireMapping.FromWire(e));
                    changes.Durable(PersistenceId, before, state);
                    done.Caller.Tell(new MergeResult { Merged = true, RetiredNow = true });
                    SnapshotIfDue();
                    Resume();
                });
                return true;
            case HandOverFailed failed:
                failed.Caller.Tell(new Status.Failure(failed.Cause));
                Resume();
                return true;
            default:
                Stash.Stash();
                return true;
        }
    }

    private void Resume()
    {
        UnbecomeStacked();
        Stash.UnstashAll();
    }

    private void Write(DecideResult result, object reply)
    {
        var sender = Sender;
        if (result.Rejection is { } rejection)
        {
            sender.Tell(new Status.Failure(new InvalidOperationException($"{rejection.Code}: {rejection.Message}")));
            return;
        }

        if (result.Events.Count == 0)
        {
            AfterPendingWrites(() => sender.Tell(reply));
            return;
        }

        // Decide the next command on this state already; reply when the write is durable.
        var handOff = new Queue<(ProfileState Before, ProfileState After)>(result.Events.Count);
        foreach (var domainEvent in result.Events)
        {
            var before = state;
            state = ProfileDecider.Apply(state, domainEvent);
            handOff.Enqueue((before, state));
        }

        var wire = result.Events.Select(WireMapping.ToWire).ToList();
        var last = wire[^1];
        lastEnqueued = last;
        PersistAllAsync(wire, e =>
        {
            // Callbacks run in write order, one per event: the publisher gets the states around this very event.
            var (before, after) = handOff.Dequeue();
            changes.Durable(PersistenceId, before, after);
            if (ReferenceEquals(e, last))
            {
                sender.Tell(reply);
            }

            if (afterWrite.Remove(e, out var actions))
            {
                actions.ForEach(a => a());
            }

            // Callbacks run in write order: the last one enqueued means nothing is in flight any more.
            if (ReferenceEquals(e, lastEnqueued))
            {
                lastEnqueued = null;
            }

            SnapshotIfDue();
        });
    }

    /// <summary>Runs <paramref name="action"/> once every write enqueued so far is durable (now, when none is in flight).</summary>
    private void AfterPendingWrites(Action action)
    {
        if (lastEnqueued is null)
        {
            action();
            return;
        }

        if (!afterWrite.TryGetValue(lastEnqueued, out var actions))
        {
            afterWrite[lastEnqueued] = actions = [];
        }

        actions.Add(action);
    }

    // Only when no write is in flight: the in-memory state then is exactly the durable state at LastSequenceNr.
    private void SnapshotIfDue()
    {
        if (lastEnqueued is null && LastSequenceNr - lastSnapshotAt >= snapshotEvery)
        {
            lastSnapshotAt = LastSequenceNr;
            SaveSnapshot(WireMapping.ToWire(id, state));
        }
    }

    private sealed record HandedOver(AbsorbResult Result, MergeProfileInto Request, IActorRef Caller);

    private sealed record HandOverFailed(Exception Cause, IActorRef Caller);
}
