using Akka.Actor;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Cluster.Telemetry;
using IdentityGraph.Cluster.Wire;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using ObserveProfile = IdentityGraph.Cluster.Wire.ObserveProfile;

namespace IdentityGraph.Cluster.Resolution;

/// <summary>What resolving one observation did to the graph.</summary>
public enum ResolveOutcome
{
    /// <summary>Everything in the observation was already known: nothing was written.</summary>
    NothingNew,

    /// <summary>A new profile was created.</summary>
    Created,

    /// <summary>An existing profile changed: new identifiers, consents, attributes or sightings.</summary>
    Linked,

    /// <summary>Two or more profiles turned out to be the same customer and were merged.</summary>
    Merged,
}

/// <summary>The live profile that holds the observation, and what happened.</summary>
/// <param name="ProfilesMerged">How many profiles this call retired into the survivor.</param>
public sealed record ResolveResult(ProfileId ProfileId, ResolveOutcome Outcome, int ProfilesMerged);

/// <summary>A live profile (the survivor of any merges) and its current state.</summary>
public sealed record LiveProfile(ProfileId Id, ProfileState State);

/// <summary>An observation that was refused by validation; nothing was written.</summary>
public sealed class ObservationRejectedException(Core.Identifiers.ValidationError error)
    : Exception($"{error.Code}: {error.Message}")
{
    public Core.Identifiers.ValidationError Error { get; } = error;
}

/// <summary>
/// Resolves observations into the identity graph. <see cref="ResolveAsync(NormalizedObservation, CancellationToken)"/>
/// completes only when every effect is durable; on failure (timeout, crash) it throws and the caller resubmits the
/// observation: every step is idempotent, so a retry converges to the same graph.
/// </summary>
/// <remarks>
/// The protocol (docs/merge-protocol.md):
/// <list type="number">
/// <item>read the current owner of every identifier and follow redirects to the live profiles;</item>
/// <item>the candidate is the smallest of them, or the observation's deterministic profile id when none is owned;</item>
/// <item>claim the unowned identifiers for the candidate (compare-and-set: a lost race returns the winner);</item>
/// <item>apply the observation to the smallest root among the identifiers' holders (the candidate unless it lost every
/// claim), creating it when it is new (an identifier may name a profile that a crash left unwritten: whoever observes
/// it first creates it);</item>
/// <item>merge every other profile found into the smallest id (union by minimum id), repeating until one remains: a
/// profile that was merged elsewhere meanwhile answers with its redirect;</item>
/// <item>after a merge, repoint this observation's identifiers straight at the survivor (path compression).</item>
/// </list>
/// The identifier entities are the truth about who holds what; a claim is written before the profile content that
/// mentions it, so a crash between the two can leave an identifier pointing at a profile that does not know it yet,
/// never an identifier in two profiles. The caller's retry completes the content. Only a larger id ever waits for a
/// smaller one (a retiring profile waits for its survivor to absorb it), so there is no deadlock.
/// </remarks>
public sealed class IdentityResolver(
    IActorRef profiles, IActorRef identifiers, ObservationNormalizer normalizer, TimeSpan askTimeout, ProfileLimits? limits = null)
{
    public ObservationNormalizer Normalizer { get; } = normalizer;

    /// <summary>The bounds on one profile; the identifier limit is checked here, before anything is claimed.</summary>
    public ProfileLimits Limits { get; } = limits ?? ProfileLimits.Default;

    /// <summary>Validates, normalises and resolves; throws <see cref="ObservationRejectedException"/> for invalid input.</summary>
    public Task<ResolveResult> ResolveAsync(Observation observation, CancellationToken cancellationToken = default)
    {
        var normalized = Normalizer.Normalize(observation);
        return normalized.IsValid
            ? ResolveAsync(normalized.Observation!, cancellationToken)
            : Task.FromException<ResolveResult>(new ObservationRejectedException(normalized.Error!));
    }

    /// <summary>Resolves a normalised observation; completes when every effect is durable.</summary>
    public async Task<ResolveResult> ResolveAsync(NormalizedObservation observation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(observation);

        var owners = await Task.WhenAll(observation.Identifiers.Select(i =>
            Ask<IdentifierOwner>(identifiers, new GetIdentifierOwner { Key = i.Key.Value }, cancellationToken)));
        var owned = owners.Where(o => o.Owner.Length > 0).ToList();
        var rootAnswers = await Task.WhenAll(owned.Select(o => o.Owner).Distinct(StringComparer.Ordinal).Select(o => RootOf(o, cancellationToken)));
        var roots = rootAnswers.Select(r => r.ProfileId).ToHashSet(StringComparer.Ordinal);

        // Before any claim, so that a refused observation leaves the graph as if it had never arrived. Soft: observations
        // racing for one profile each see it before the others' identifiers land.
        var held = rootAnswers.DistinctBy(r => r.ProfileId, StringComparer.Ordinal).Sum(r => r.IdentifierCount);
        if (Limits.CheckIdentifiers(held, owners.Length - owned.Count, roots.Count) is { } refusal)
        {
            ProfileLimitMetrics.ObservationRefused();
            throw new ObservationRejectedException(refusal);
        }

        var candidate = roots.Count == 0 ? ProfileId.For(observation).Value : Min(roots);
        var claims = await Task.WhenAll(owners.Where(o => o.Owner.Length == 0).Select(o =>
            Ask<IdentifierOwner>(identifiers, new ClaimIdentifier { Key = o.Key, Candidate = candidate }, cancellationToken)));

        // The content goes to a profile that holds one of the observation's identifiers, never to a candidate that lost
        // every claim: after a crash such a profile could not be found again through any identifier.
        foreach (var winner in claims.Select(c => c.Owner).Distinct(StringComparer.Ordinal))
        {
            roots.Add(winner == candidate ? candidate : (await RootOf(winner, cancellationToken)).ProfileId);
        }

        var target = Min(roots);
        var observed = await Ask<ObserveResult>(
            profiles, new ObserveProfile { ProfileId = target, Observation = WireMapping.ToWire(observation) }, cancellationToken);

        var knownOwners = owned.Concat(claims).ToList();
        var involved = knownOwners.Select(o => o.Owner).Append(observed.ProfileId).ToHashSet(StringComparer.Ordinal);
        // The common case: every identifier already names the profile that took the observation (it answered, so it
        // is live). Nothing to merge, and no need to ask it for its root once more.
        var (survivor, merged) = involved.Count == 1
            ? (observed.ProfileId, 0)
            : await MergeAll(involved, observation, cancellationToken);

        if (merged > 0)
        {
            await Task.WhenAll(knownOwners.Where(o => o.Owner != survivor).Select(o =>
                Ask<IdentifierOwner>(identifiers, new RepointIdentifier { Key = o.Key, From = o.Owner, To = survivor }, cancellationToken)));
        }

        var outcome = merged > 0 ? ResolveOutcome.Merged
            : observed.Created ? ResolveOutcome.Created
            : observed.Changed ? ResolveOutcome.Linked
            : ResolveOutcome.NothingNew;
        return new ResolveResult(ProfileId.Parse(survivor), outcome, merged);
    }

    /// <summary>The live profile that <paramref name="profileId"/> is or was merged into; null when it never existed.</summary>
    public async Task<ProfileId?> FindLiveProfileAsync(string profileId, CancellationToken cancellationToken = default)
    {
        var root = await Ask<ProfileRoot>(profiles, new GetProfileRoot { ProfileId = profileId }, cancellationToken);
        if (!root.Exists)
        {
            return null;
        }

        return ProfileId.Parse(root.MergedInto.Length == 0 ? profileId : (await RootOf(root.MergedInto, cancellationToken)).ProfileId);
    }

    /// <summary>The live profile holding the identifier with this key; null when no profile holds it.</summary>
    public async Task<ProfileId?> FindProfileByKeyAsync(IdentifierKey key, CancellationToken cancellationToken = default)
    {
        var owner = await Ask<IdentifierOwner>(identifiers, new GetIdentifierOwner { Key = key.Value }, cancellationToken);
        return owner.Owner.Length == 0 ? null : ProfileId.Parse((await RootOf(owner.Owner, cancellationToken)).ProfileId);
    }

    /// <summary>
    /// The current state of the live profile that <paramref name="profileId"/> is or was merged into (following
    /// redirects); null when it never existed.
    /// </summary>
    public async Task<ProfileState?> GetProfileAsync(ProfileId profileId, CancellationToken cancellationToken = default) =>
        (await GetLiveProfileAsync(profileId.ToString(), cancellationToken))?.State;

    /// <summary>
    /// The live profile that <paramref name="profileId"/> is or was merged into, with its id and current state; null
    /// when it never existed (including an id an identifier names but a crash left unwritten).
    /// </summary>
    public async Task<LiveProfile?> GetLiveProfileAsync(string profileId, CancellationToken cancellationToken = default)
    {
        var live = await FindLiveProfileAsync(profileId, cancellationToken);
        if (live is null)
        {
            return null;
        }

        var snapshot = await Ask<ProfileSnapshotData>(profiles, new GetProfileState { ProfileId = live.Value.ToString() }, cancellationToken);
        var state = WireMapping.FromWire(snapshot);
        return state.Status == ProfileStatus.Absent ? null : new LiveProfile(live.Value, state);
    }

    /// <summary>The live profile holding the identifier with this key, with its state; null when no profile holds it.</summary>
    public async Task<LiveProfile?> GetProfileByKeyAsync(IdentifierKey key, CancellationToken cancellationToken = default)
    {
        var owner = await Ask<IdentifierOwner>(identifiers, new GetIdentifierOwner { Key = key.Value }, cancellationToken);
        return owner.Owner.Length == 0 ? null : await GetLiveProfileAsync(owner.Owner, cancellationToken);
    }

    /// <summary>Follows redirects to the live root's answer (its id and identifier count); ids strictly decrease along a chain, so this terminates.</summary>
    private async Task<ProfileRoot> RootOf(string profileId, CancellationToken cancellationToken)
    {
        var current = profileId;
        while (true)
        {
            var root = await Ask<ProfileRoot>(profiles, new GetProfileRoot { ProfileId = current }, cancellationToken);
            if (root.MergedInto.Length == 0)
            {
                return root;
            }

            current = root.MergedInto;
        }
    }

    private async Task<(string Survivor, int Merged)> MergeAll(
        HashSet<string> involved, NormalizedObservation cause, CancellationToken cancellationToken)
    {
        var merged = 0;
        var occurredAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(cause.ObservedAt);
        while (true)
        {
            var roots = (await Task.WhenAll(involved.Select(p => RootOf(p, cancellationToken))))
                .Select(r => r.ProfileId)
                .ToHashSet(StringComparer.Ordinal);
            var survivor = Min(roots);
            if (roots.Count == 1)
            {
                return (survivor, merged);
            }

            var results = await Task.WhenAll(roots.Where(r => r != survivor).Select(r => Ask<MergeResult>(
                profiles,
                new MergeProfileInto { ProfileId = r, Survivor = survivor, ObservationId = cause.ObservationId, OccurredAt = occurredAt },
                cancellationToken)));

            if (results.Any(r => !r.Merged && r.Redirect.Length == 0))
            {
                throw new InvalidOperationException(
                    "A profile refused a merge without a redirect (it does not exist or was erased); the observation will be retried.");
            }

            merged += results.Count(r => r.RetiredNow);
            involved = roots;
            foreach (var redirect in results.Where(r => !r.Merged && r.Redirect.Length > 0))
            {
                involved.Add(redirect.Redirect);
            }
        }
    }

    private static string Min(IEnumerable<string> ids) => ids.Min(StringComparer.Ordinal)!;

    private Task<T> Ask<T>(IActorRef region, object message, CancellationToken cancellationToken) =>
        region.Ask<T>(message, askTimeout, cancellationToken);
}
