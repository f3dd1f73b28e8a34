using Akka.Actor;
using Akka.Persistence;
using Google.Protobuf;
using IdentityGraph.Cluster.Publishing;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Cluster.Telemetry;
using IdentityGraph.Cluster.Wire;
using IdentityGraph.Core.Profiles;
using AbsorbProfile = IdentityGraph.Cluster.Wire.AbsorbProfile;
using Domain = IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Entities;

/// <summary>
/// One slice of the profiles (docs/architecture.md): a thin persistent shell over <see cref="ProfileDecider"/> for every
/// profile whose id falls in it (<see cref="ProfileSlices"/>). Each command — one micro-batch's observations for all of
/// its targets in this slice, an absorb, a retire — is decided in memory and written as <em>one</em> journal event
/// holding every changed profile's published event (with the profile after it) and domain event; its answer goes out
/// only when that event is durable.
/// Nothing here waits for another entity: a merge is driven by the resolver (read, absorb at the survivor, retire with
/// compare-and-set on the version), so slices cannot deadlock however merges interleave.
/// </summary>
/// <remarks>
/// <c>PersistAsync</c>: a command is decided on the state including writes still in flight, so a busy slice pipelines
/// its writes (the journal groups them into one transaction). What it answers never names something a crash could take
/// back: answers that write nothing wait for the writes of the profiles they name, and a redirect (merged away) is named
/// only once durable. Durable states are held serialised (about 450 bytes a profile of the benchmark workload, evidence
/// naming identifiers by position); the most recently used ones (<c>DecodedProfilesPerSlice</c>) are held decoded as
/// well (about 2 KB each), and serialised again when they drop out only if they changed meanwhile.
/// </remarks>
internal sealed class ProfileSliceEntity : UntypedPersistentActor
{
    public const string TypeName = "profiles";

    private readonly int snapshotEvery;
    private readonly ProfileLimits limits;
    private readonly ProfileChangeSignal signal;
    // Every profile of the slice has an entry in `durable`: its durable state serialised, or null while `decoded` holds
    // the only current form (it changed since it was last serialised). A profile decoded and not changed keeps its
    // bytes, so dropping it from `decoded` or snapshotting it serialises nothing.
    private readonly Dictionary<string, byte[]?> durable = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Pending> pending = new(StringComparer.Ordinal);
    private readonly DecodedStates decoded;
    private readonly Queue<(long UpTo, Action Action)> waiting = new();
    private long lastSnapshotAt;
    private long changesSinceSnapshot;
    private long writesEnqueued;
    private long writesDone;
    private bool diverged;

    public ProfileSliceEntity(string entityId, int snapshotEvery, int decodedProfiles, ProfileLimits limits)
    {
        this.snapshotEvery = snapshotEvery;
        decoded = new DecodedStates(decodedProfiles);
        this.limits = limits;
        PersistenceId = PersistenceIdOf(entityId);
        signal = ProfileChangeSignal.Get(Context.System);
    }

    public override string PersistenceId { get; }

    /// <summary>The persistence id of slice <paramref name="entityId"/> (<c>{count}-{slice}</c>).</summary>
    public static string PersistenceIdOf(string entityId) => TypeName + "-" + entityId;

    public static Props PropsFor(string entityId, int snapshotEvery, int decodedProfiles, ProfileLimits limits) =>
        Props.Create<ProfileSliceEntity>(entityId, snapshotEvery, decodedProfiles, limits);

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: ProfileSliceSnapshotData snapshot } offer:
                durable.Clear();
                decoded.Clear();
                foreach (var profile in snapshot.Profiles)
                {
                    durable[profile.ProfileId] = profile.State.ToByteArray();
                }

                lastSnapshotAt = offer.Metadata.SequenceNr;
                changesSinceSnapshot = 0;
                break;
            case ProfileSliceChangedEvent e:
                changesSinceSnapshot += e.Changes.Count;
                foreach (var change in e.Changes)
                {
                    MakeDurable(change.ProfileId, ProfileDecider.Apply(StateOf(change.ProfileId), WireMapping.DomainEventOf(change)));
                }

                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case ObserveProfiles m:
                Observe(m);
                break;
            case GetProfileRoots m:
                Roots(m);
                break;
            case AbsorbInSlice m:
                Absorb(m.Absorb);
                break;
            case ReadForMerge m:
                ReadForMerge(m);
                break;
            case RetireProfile m:
                Retire(m);
                break;
            case GetSliceProfileState m:
                // The state as decided now, answered once it is durable.
                var sender = Sender;
                var snapshot = WireMapping.ToWire(ProfileId.Parse(m.ProfileId), StateOf(m.ProfileId));
                AfterWritesOf([m.ProfileId], () => sender.Tell(snapshot));
                break;
            case StopEntity:
                AfterWritesOf(null, () => Context.Stop(Self));
                break;
            case SaveSnapshotSuccess s:
                // Events stay: they are what the outbox and export read. Only older snapshots go.
                DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
                break;
            case SaveSnapshotFailure or DeleteSnapshotsSuccess or DeleteSnapshotsFailure:
                break; // a missing snapshot only makes recovery longer
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>A refused write leaves the decided states ahead of the journal: stop, and recover the durable ones.</summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        diverged = true;
        Context.Stop(Self);
    }

    /// <summary>One micro-batch's observations for this slice's targets: each target decided in order, one event for all.</summary>
    private void Observe(ObserveProfiles m)
    {
        var reply = new ObserveProfilesResult();
        var changes = new List<Change>();
        var named = new List<string>(m.Targets.Count);
        foreach (var target in m.Targets)
        {
            named.Add(target.ProfileId);
            var state = StateOf(target.ProfileId);
            var result = new ObserveBatchResult { ProfileId = target.ProfileId };
            reply.Results.Add(result);
            if (state is { Status: ProfileStatus.MergedAway, MergedInto: { } survivor })
            {
                result.MergedInto = survivor.Value;
                continue;
            }

            var (decision, changed) = ProfileDecider.DecideBatch(state, target.ObservationsToDecide(), limits);
            if (decision.Rejection is { } rejection)
            {
                result.Rejection = $"{rejection.Code}: {rejection.Message}";
                continue;
            }

            ProfileLimitMetrics.AttributesDropped(decision.AttributesDropped);
            result.Created = state.Status == ProfileStatus.Absent && decision.Events.Count > 0;
            result.Changed.AddRange(changed);
            Decided(ProfileId.Parse(target.ProfileId), state, decision, changes);
        }

        Write(changes, named, reply);
    }

    private void Absorb(AbsorbProfile m)
    {
        var state = StateOf(m.ProfileId);
        if (state is { Status: ProfileStatus.MergedAway, MergedInto: { } survivor })
        {
            var sender = Sender;
            AfterWritesOf([m.ProfileId], () => sender.Tell(new AbsorbResult { ProfileId = m.ProfileId, MergedInto = survivor.Value }));
            return;
        }

        var id = ProfileId.Parse(m.ProfileId);
        var command = new Domain.AbsorbProfile(
            id, ProfileId.Parse(m.Absorbed), WireMapping.FromWire(m.Content), m.ObservationId, WireMapping.FromWire(m.OccurredAt));
        var decision = ProfileDecider.Decide(state, command, limits);
        if (decision.Rejection is { } rejection)
        {
            Sender.Tell(new Status.Failure(new InvalidOperationException($"{rejection.Code}: {rejection.Message}")));
            return;
        }

        ProfileLimitMetrics.AttributesDropped(decision.AttributesDropped);
        var changes = new List<Change>(1);
        Decided(id, state, decision, changes);
        Write(changes, [m.ProfileId], new AbsorbResult { ProfileId = m.ProfileId, Changed = changes.Count > 0 });
    }

    /// <summary>The content and version of a profile about to retire, as decided now, answered once durable.</summary>
    private void ReadForMerge(ReadForMerge m)
    {
        var sender = Sender;
        var state = StateOf(m.ProfileId);
        var answer = new MergeContent { Root = RootOf(m.ProfileId, state), Version = state.Version, Content = WireMapping.ToWire(state.Content) };
        AfterWritesOf([m.ProfileId], () => sender.Tell(answer));
    }

    /// <summary>Records the redirect only if nothing changed the profile since the resolver read it (compare-and-set).</summary>
    private void Retire(RetireProfile m)
    {
        var state = StateOf(m.ProfileId);
        var sender = Sender;
        if (state is { Status: ProfileStatus.MergedAway, MergedInto: { } into })
        {
            var answer = into.Value == m.Survivor ? new RetireResult { Merged = true } : new RetireResult { Redirect = into.Value };
            AfterWritesOf([m.ProfileId], () => sender.Tell(answer));
            return;
        }

        if (state.Version != m.ExpectedVersion)
        {
            sender.Tell(new RetireResult { Stale = true });
            return;
        }

        var id = ProfileId.Parse(m.ProfileId);
        var decision = ProfileDecider.Decide(state, new RetireIntoSurvivor(id, ProfileId.Parse(m.Survivor), m.ObservationId, WireMapping.FromWire(m.OccurredAt)));
        if (decision.Rejection is { } rejection)
        {
            sender.Tell(new Status.Failure(new InvalidOperationException($"{rejection.Code}: {rejection.Message}")));
            return;
        }

        var changes = new List<Change>(1);
        Decided(id, state, decision, changes);
        Write(changes, [m.ProfileId], new RetireResult { Merged = true, RetiredNow = changes.Count > 0 });
    }

    /// <summary>
    /// Roots answer at once from the decided states (content in flight counts: the resolver only sizes and routes with
    /// it), except that a redirect is named only when durable: a profile whose retire is in flight is answered after it.
    /// </summary>
    private void Roots(GetProfileRoots m)
    {
        var answer = new ProfileRoots();
        var retiring = false;
        foreach (var profileId in m.ProfileIds)
        {
            var state = StateOf(profileId);
            retiring |= state.Status == ProfileStatus.MergedAway && pending.ContainsKey(profileId);
            answer.Roots.Add(RootOf(profileId, state));
        }

        var sender = Sender;
        if (retiring)
        {
            AfterWritesOf(m.ProfileIds, () => sender.Tell(answer));
        }
        else
        {
            sender.Tell(answer);
        }
    }

    private static ProfileRoot RootOf(string profileId, ProfileState state) => new()
    {
        ProfileId = profileId,
        MergedInto = state.MergedInto?.Value ?? "",
        Exists = state.Status != ProfileStatus.Absent,
        IdentifierCount = state.Content.Identifiers.Count,
    };

    /// <summary>
    /// Applies a decision's events to the decided state and collects them as changes of the command's write.
    /// Staged at once, so that a later target of the same command decides on it too.
    /// </summary>
    private void Decided(ProfileId id, ProfileState state, DecideResult decision, List<Change> changes)
    {
        if (decision.Events.Count == 0)
        {
            return;
        }

        foreach (var domainEvent in decision.Events)
        {
            var before = state;
            state = decision is { After: { } after, Events.Count: 1 } ? after : ProfileDecider.Apply(state, domainEvent);
            changes.Add(new Change(id, before, domainEvent, state));
        }

        // The command's write is the next one enqueued (Write, at the end of the command).
        var write = writesEnqueued + 1;
        if (pending.TryGetValue(id.Value, out var inFlight))
        {
            inFlight.State = state;
            inFlight.LastWrite = write;
        }
        else
        {
            pending[id.Value] = new Pending { State = state, LastWrite = write };
        }
    }

    /// <summary>Writes the changes as one event and answers when it is durable; with no change, answers after the
    /// writes in flight of the profiles <paramref name="named"/>.</summary>
    private void Write(List<Change> changes, IReadOnlyCollection<string> named, IMessage reply)
    {
        var sender = Sender;
        if (changes.Count == 0)
        {
            AfterWritesOf(named, () => sender.Tell(reply));
            return;
        }

        var written = new ProfileSliceChangedEvent();
        var write = ++writesEnqueued;
        foreach (var (id, before, domainEvent, after) in changes)
        {
            written.Changes.Add(WireMapping.ToChange(id, domainEvent, ProfileChanges.ToContract(id, before, domainEvent, after)));
        }

        PersistAsync(written, _ =>
        {
            foreach (var change in changes)
            {
                // The durable state as of this write (a snapshot here must hold it), whatever is still in flight.
                var id = change.Id.Value;
                MakeDurable(id, change.After);
                if (pending.TryGetValue(id, out var inFlight) && inFlight.LastWrite == write)
                {
                    pending.Remove(id); // nothing later in flight: the decided state is the durable one
                }
            }

            writesDone = write;
            signal.Durable();
            sender.Tell(reply);
            while (waiting.Count > 0 && waiting.Peek().UpTo <= writesDone)
            {
                waiting.Dequeue().Action();
            }

            changesSinceSnapshot += changes.Count;
            SnapshotIfDue();
        });
    }

    /// <summary>
    /// Runs <paramref name="action"/> once the writes in flight of the profiles named (of every profile: null) are
    /// durable; at once when there are none.
    /// </summary>
    private void AfterWritesOf(IEnumerable<string>? profileIds, Action action)
    {
        var upTo = profileIds is null ? writesEnqueued : 0;
        if (profileIds is not null)
        {
            foreach (var profileId in profileIds)
            {
                if (pending.TryGetValue(profileId, out var inFlight))
                {
                    upTo = Math.Max(upTo, inFlight.LastWrite);
                }
            }
        }

        if (upTo <= writesDone)
        {
            action();
        }
        else
        {
            waiting.Enqueue((upTo, action));
        }
    }

    /// <summary>The decided state: in flight, else durable (decoded on demand), else absent.</summary>
    private ProfileState StateOf(string profileId)
    {
        if (pending.TryGetValue(profileId, out var inFlight))
        {
            return inFlight.State;
        }

        if (decoded.TryGet(profileId, out var state))
        {
            return state;
        }

        if (!durable.TryGetValue(profileId, out var bytes))
        {
            return ProfileState.Empty;
        }

        if (bytes is null)
        {
            throw new InvalidOperationException($"Profile slice {PersistenceId} holds neither bytes nor a decoded state of a profile.");
        }

        state = WireMapping.FromWire(ProfileSnapshotData.Parser.ParseFrom(bytes));
        Decoded(profileId, state);
        return state;
    }

    /// <summary>Records <paramref name="state"/> as the profile's durable state (decoded: it was just used).</summary>
    private void MakeDurable(string profileId, ProfileState state)
    {
        durable[profileId] = null;
        Decoded(profileId, state);
    }

    /// <summary>Keeps a durable state decoded; the least recently used one past the capacity is dropped, serialised
    /// first if it changed since it was last.</summary>
    private void Decoded(string profileId, ProfileState state)
    {
        if (decoded.Put(profileId, state) is { } evicted && durable[evicted.Id] is null)
        {
            durable[evicted.Id] = WireMapping.ToStoredBytes(evicted.State);
        }
    }

    // In a callback every write up to LastSequenceNr is durable and applied to `durable`: a snapshot of it is exact,
    // whatever is still in flight.
    // A snapshot is every profile of the slice (megabytes), so it waits until both SnapshotEvery events and at least as
    // many profile changes as the slice holds profiles were written since the last one: the snapshots then write no
    // more than the journal does (a change row is about as large as a profile), and a recovery reads at most about
    // twice the slice. With a count alone, a slow stream of small batches snapshotted every slice's megabytes over and
    // over, all slices at about the same time.
    private void SnapshotIfDue()
    {
        if (diverged || LastSequenceNr - lastSnapshotAt < snapshotEvery || changesSinceSnapshot < durable.Count)
        {
            return;
        }

        lastSnapshotAt = LastSequenceNr;
        changesSinceSnapshot = 0;
        var snapshot = new ProfileSliceSnapshotData();
        snapshot.Profiles.AddRange(durable.Select(p => new SliceProfileData
        {
            ProfileId = p.Key,
            State = UnsafeByteOperations.UnsafeWrap(p.Value ?? WireMapping.ToStoredBytes(decoded.Peek(p.Key))),
        }));
        SaveSnapshot(snapshot);
    }

    private sealed record Change(ProfileId Id, ProfileState Before, IProfileEvent Event, ProfileState After);

    private sealed class Pending
    {
        public required ProfileState State { get; set; }

        public long LastWrite { get; set; }
    }

    /// <summary>The most recently used durable states, decoded (past the capacity, the least recently used goes).</summary>
    private sealed class DecodedStates(int capacity)
    {
        /// <summary>The state held for <paramref name="id"/>, without making it the most recently used.</summary>
        public ProfileState Peek(string id) =>
            nodes.TryGetValue(id, out var node) ? node.Value.State : throw new KeyNotFoundException($"No decoded state for profile {id}.");

        public void Clear()
        {
            nodes.Clear();
            order.Clear();
        }

        private readonly Dictionary<string, LinkedListNode<(string Id, ProfileState State)>> nodes = new(StringComparer.Ordinal);
        private readonly LinkedList<(string Id, ProfileState State)> order = new();

        public bool TryGet(string id, out ProfileState state)
        {
            if (nodes.TryGetValue(id, out var node))
            {
                order.Remove(node);
                order.AddFirst(node);
                state = node.Value.State;
                return true;
            }

            state = ProfileState.Empty;
            return false;
        }

        /// <summary>Puts or replaces the state; returns the entry it pushed out, if any.</summary>
        public (string Id, ProfileState State)? Put(string id, ProfileState state)
        {
            if (nodes.TryGetValue(id, out var node))
            {
                order.Remove(node);
                node.Value = (id, state);
                order.AddFirst(node);
                return null;
            }

            nodes[id] = order.AddFirst((id, state));
            if (nodes.Count <= capacity)
            {
                return null;
            }

            var evicted = order.Last!.Value;
            nodes.Remove(evicted.Id);
            order.RemoveLast();
            return evicted;
        }
    }
}
