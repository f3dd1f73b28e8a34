using IdentityGraph.Core.Observations;

namespace IdentityGraph.Core.Profiles;

/// <summary>Where a profile is in its life.</summary>
public enum ProfileStatus
{
    /// <summary>No event yet (an id that an identifier may already name, see docs/merge-protocol.md).</summary>
    Absent,

    /// <summary>Holds identifiers and takes observations.</summary>
    Live,

    /// <summary>Merged into a smaller (older) profile; forwards everything there forever.</summary>
    MergedAway,

    /// <summary>Erased on request: holds nothing, takes nothing.</summary>
    Erased,
}

/// <summary>A profile's state: a pure function of its events (<see cref="ProfileDecider.Replay"/>).</summary>
/// <param name="Version">Number of events so far; every event adds one (downstream dedupe key with the profile id).</param>
/// <param name="MergedInto">The survivor, when <see cref="Status"/> is <see cref="ProfileStatus.MergedAway"/>.</param>
public sealed record ProfileState(long Version, ProfileStatus Status, ProfileId? MergedInto, ProfileContent Content)
{
    public static ProfileState Empty { get; } = new(0, ProfileStatus.Absent, null, ProfileContent.Empty);
}

/// <summary>A command to a profile.</summary>
public interface IProfileCommand;

/// <summary>Apply an observation (creates the profile when it is absent).</summary>
public sealed record ObserveProfile(NormalizedObservation Observation) : IProfileCommand;

/// <summary>Survivor side of a merge: take over the content of <paramref name="Absorbed"/>, a larger id.</summary>
public sealed record AbsorbProfile(ProfileId Self, ProfileId Absorbed, ProfileContent Content, string ObservationId, DateTimeOffset OccurredAt) : IProfileCommand;

/// <summary>Retiring side of a merge: become a permanent redirect to <paramref name="Survivor"/>, a smaller id.</summary>
public sealed record RetireIntoSurvivor(ProfileId Self, ProfileId Survivor, string ObservationId, DateTimeOffset OccurredAt) : IProfileCommand;

/// <summary>Forget everything about the customer (data-protection erasure request).</summary>
public sealed record EraseProfile(string RequestId, DateTimeOffset OccurredAt) : IProfileCommand;

/// <summary>A persisted profile event.</summary>
public interface IProfileEvent;

/// <summary>The first observation of a profile.</summary>
public sealed record ProfileCreated(string ObservationId, DateTimeOffset OccurredAt, ProfileContent Content) : IProfileEvent;

/// <summary>A later observation; <paramref name="Delta"/> is what it added.</summary>
public sealed record ObservationApplied(string ObservationId, DateTimeOffset OccurredAt, ProfileContent Delta) : IProfileEvent;

/// <summary>Another profile was merged into this one; <paramref name="Delta"/> is what it added.</summary>
public sealed record ProfileAbsorbed(ProfileId Absorbed, string ObservationId, DateTimeOffset OccurredAt, ProfileContent Delta) : IProfileEvent;

/// <summary>This profile was merged into <paramref name="Survivor"/> and now only forwards.</summary>
public sealed record ProfileMergedAway(ProfileId Survivor, string ObservationId, DateTimeOffset OccurredAt) : IProfileEvent;

/// <summary>This profile was erased.</summary>
public sealed record ProfileErased(string RequestId, DateTimeOffset OccurredAt) : IProfileEvent;

/// <summary>Why a command was refused. <see cref="RedirectTo"/> is set when the command belongs to another profile.</summary>
public sealed record ProfileRejection(string Code, string Message, ProfileId? RedirectTo = null)
{
    /// <summary>The profile was merged away: send the command to <see cref="RedirectTo"/>.</summary>
    public const string Redirect = "profile.redirect";

    /// <summary>The profile was erased.</summary>
    public const string Erased = "profile.erased";

    /// <summary>The profile does not exist.</summary>
    public const string NotFound = "profile.not_found";

    /// <summary>A profile cannot merge with itself.</summary>
    public const string SelfMerge = "profile.self_merge";

    /// <summary>Merges go from the larger id into the smaller one only.</summary>
    public const string WrongDirection = "profile.wrong_direction";

    /// <summary>The profile was already merged into another survivor (see <see cref="RedirectTo"/>).</summary>
    public const string MergedElsewhere = "profile.merged_elsewhere";
}

/// <summary>The outcome of a decision: events to persist (none when nothing changes), or a rejection.</summary>
/// <param name="AttributesDropped">Attribute keys left out because of <see cref="ProfileLimits.MaxAttributes"/> (counted, not an error).</param>
public sealed record DecideResult(IReadOnlyList<IProfileEvent> Events, ProfileRejection? Rejection, int AttributesDropped = 0)
{
    /// <summary>The state after <see cref="Events"/>, when the decision already computed it (saves the caller a join);
    /// otherwise null: apply the events.</summary>
    public ProfileState? After { get; init; }

    public static DecideResult Nothing { get; } = new([], null);

    public static DecideResult Of(IProfileEvent e) => new([e], null);

    public static DecideResult Reject(ProfileRejection rejection) => new([], rejection);
}

/// <summary>
/// The profile state machine: <see cref="Decide"/> turns a command into events (or a rejection) without changing
/// anything; <see cref="Apply"/> folds an event into the state. Both are pure, so the actor shell and the export read
/// the same truth. Every command is idempotent: deciding it again after its events were applied yields no events.
/// </summary>
public static class ProfileDecider
{
    /// <param name="limits">Bounds the content may grow to; <see cref="ProfileLimits.Default"/> when null. <see cref="Apply"/>
    /// needs none: the events carry the result of the bound.</param>
    public static DecideResult Decide(ProfileState state, IProfileCommand command, ProfileLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        limits ??= ProfileLimits.Default;
        return command switch
        {
            ObserveProfile c => Observe(state, c, limits),
            AbsorbProfile c => Absorb(state, c, limits),
            RetireIntoSurvivor c => Retire(state, c),
            EraseProfile c => Erase(state, c),
            _ => throw new ArgumentException($"Unknown profile command {command?.GetType().Name}.", nameof(command)),
        };
    }

    public static ProfileState Apply(ProfileState state, IProfileEvent domainEvent)
    {
        ArgumentNullException.ThrowIfNull(state);
        var next = domainEvent switch
        {
            ProfileCreated e => state with { Status = ProfileStatus.Live, Content = state.Content.Join(e.Content) },
            ObservationApplied e => state with { Status = ProfileStatus.Live, Content = state.Content.Join(e.Delta) },
            ProfileAbsorbed e => state with { Status = ProfileStatus.Live, Content = state.Content.Join(e.Delta) },
            ProfileMergedAway e => state with { Status = ProfileStatus.MergedAway, MergedInto = e.Survivor, Content = ProfileContent.Empty },
            ProfileErased => state with { Status = ProfileStatus.Erased, MergedInto = null, Content = ProfileContent.Empty },
            _ => throw new ArgumentException($"Unknown profile event {domainEvent?.GetType().Name}.", nameof(domainEvent)),
        };
        return next with { Version = state.Version + 1 };
    }

    /// <summary>
    /// Decides a micro-batch of observations for one profile: each in order on the state the earlier ones left, and all
    /// that add anything written as <em>one</em> event (<see cref="ProfileCreated"/> when the profile was absent, else
    /// <see cref="ObservationApplied"/>) whose content is the join of their deltas, named after the first observation
    /// that added something. Applying that event gives the same state as applying the observations one by one, since
    /// content is a join-semilattice. At most one journal row per profile per batch.
    /// </summary>
    /// <returns>The event (or none, or a rejection), and per observation whether it added anything.</returns>
    public static (DecideResult Result, IReadOnlyList<bool> Changed) DecideBatch(
        ProfileState state, IReadOnlyList<NormalizedObservation> observations, ProfileLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(observations);
        limits ??= ProfileLimits.Default;
        if (Refusal(state) is { } refusal)
        {
            return (DecideResult.Reject(refusal), [.. observations.Select(_ => false)]);
        }

        var changed = new bool[observations.Count];
        var current = state;
        var dropped = 0;
        ProfileContent? delta = null;
        NormalizedObservation? first = null;
        for (var i = 0; i < observations.Count; i++)
        {
            var observation = observations[i];
            if (current.Status == ProfileStatus.Live && current.Content.SurelyAddsNothing(observation, limits))
            {
                continue; // a repeat visit: nothing to build
            }

            var part = current.Content.Delta(ProfileContent.FromObservation(observation), limits, out var partDropped, out var joined);
            dropped += partDropped;
            if (current.Status != ProfileStatus.Absent && part.IsEmpty)
            {
                continue;
            }

            changed[i] = true;
            first ??= observation;
            delta = delta is null ? part : delta.Join(part);
            // What Apply of this observation's event gives, without joining again.
            current = current with { Version = current.Version + 1, Status = ProfileStatus.Live, Content = joined };
        }

        if (first is null)
        {
            return (new DecideResult([], null, dropped), changed);
        }

        IProfileEvent combined = state.Status == ProfileStatus.Absent
            ? new ProfileCreated(first.ObservationId, first.ObservedAt, delta!)
            : new ObservationApplied(first.ObservationId, first.ObservedAt, delta!);
        // One event for all: one version, and the content the observations joined to (a semilattice: the same as
        // applying their joined delta).
        return (new DecideResult([combined], null, dropped) { After = current with { Version = state.Version + 1 } }, changed);
    }

    public static ProfileState Replay(IEnumerable<IProfileEvent> events) =>
        events.Aggregate(ProfileState.Empty, Apply);

    private static DecideResult Observe(ProfileState state, ObserveProfile command, ProfileLimits limits)
    {
        if (Refusal(state) is { } refusal)
        {
            return DecideResult.Reject(refusal);
        }

        var observation = command.Observation;
        var delta = state.Content.Delta(ProfileContent.FromObservation(observation), limits, out var dropped);
        IProfileEvent? change = state.Status == ProfileStatus.Absent
            ? new ProfileCreated(observation.ObservationId, observation.ObservedAt, delta)
            : delta.IsEmpty ? null : new ObservationApplied(observation.ObservationId, observation.ObservedAt, delta);
        return new DecideResult(change is null ? [] : [change], null, dropped);
    }

    private static DecideResult Absorb(ProfileState state, AbsorbProfile command, ProfileLimits limits)
    {
        if (command.Absorbed == command.Self)
        {
            return DecideResult.Reject(new ProfileRejection(ProfileRejection.SelfMerge, "A profile cannot absorb itself."));
        }

        if (command.Absorbed < command.Self)
        {
            return DecideResult.Reject(new ProfileRejection(
                ProfileRejection.WrongDirection, "Only a larger (newer) profile id can be absorbed; merges go towards the smaller id."));
        }

        if (Refusal(state) is { } refusal)
        {
            return DecideResult.Reject(refusal);
        }

        // An absent survivor is possible after a crash (an identifier named it before its first event): absorbing creates it.
        var delta = state.Content.Delta(command.Content.WithMergedProfileIds([command.Absorbed]), limits, out var dropped);
        return new DecideResult(
            delta.IsEmpty ? [] : [new ProfileAbsorbed(command.Absorbed, command.ObservationId, command.OccurredAt, delta)], null, dropped);
    }

    private static DecideResult Retire(ProfileState state, RetireIntoSurvivor command)
    {
        if (command.Survivor == command.Self)
        {
            return DecideResult.Reject(new ProfileRejection(ProfileRejection.SelfMerge, "A profile cannot merge into itself."));
        }

        if (command.Survivor > command.Self)
        {
            return DecideResult.Reject(new ProfileRejection(
                ProfileRejection.WrongDirection, "A profile can only merge into a smaller (older) profile id.", command.Self));
        }

        return state.Status switch
        {
            ProfileStatus.MergedAway when state.MergedInto == command.Survivor => DecideResult.Nothing,
            ProfileStatus.MergedAway => DecideResult.Reject(new ProfileRejection(
                ProfileRejection.MergedElsewhere, "The profile was already merged into another profile.", state.MergedInto)),
            ProfileStatus.Erased => DecideResult.Reject(new ProfileRejection(ProfileRejection.Erased, "The profile was erased.")),
            // Absent is allowed: a crash can leave identifiers naming a profile that was never written; it retires empty.
            _ => DecideResult.Of(new ProfileMergedAway(command.Survivor, command.ObservationId, command.OccurredAt)),
        };
    }

    private static DecideResult Erase(ProfileState state, EraseProfile command) => state.Status switch
    {
        ProfileStatus.Erased => DecideResult.Nothing,
        ProfileStatus.Absent => DecideResult.Reject(new ProfileRejection(ProfileRejection.NotFound, "The profile does not exist.")),
        ProfileStatus.MergedAway => DecideResult.Reject(new ProfileRejection(
            ProfileRejection.Redirect, "The profile was merged into another profile.", state.MergedInto)),
        _ => DecideResult.Of(new ProfileErased(command.RequestId, command.OccurredAt)),
    };

    private static ProfileRejection? Refusal(ProfileState state) => state.Status switch
    {
        ProfileStatus.MergedAway => new ProfileRejection(ProfileRejection.Redirect, "The profile was merged into another profile.", state.MergedInto),
        ProfileStatus.Erased => new ProfileRejection(ProfileRejection.Erased, "The profile was erased."),
        _ => null,
    };
}
