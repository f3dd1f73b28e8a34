using Akka.Actor;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Cluster.Telemetry;
using IdentityGraph.Cluster.Wire;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Index;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using IdentityGraph.Core.Resolution;

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
/// Concurrent calls are grouped into micro-batches (<see cref="BatchingOptions"/>), and each batch runs the protocol of
/// docs/architecture.md once for all of its observations:
/// <list type="number">
/// <item>look up the owners of all the batch's identifiers, one message per index slice, and follow each owner's
/// redirects to its live root;</item>
/// <item>refuse observations that would break the identifier limit, before anything is claimed;</item>
/// <item>union the batch in memory (<see cref="BatchUnion"/>): a component's candidate is its smallest root, or a new
/// deterministic profile id;</item>
/// <item>claim the components' unowned identifiers, one message per slice (compare-and-set: a lost claim names the
/// winner, whose root joins the component);</item>
/// <item>send each profile slice one message with its targets (a component's smallest root after the claims) and all
/// of their observations: at most one journal write per slice per batch; never to a candidate that lost every
/// claim;</item>
/// <item>merge every other root into the smallest id (union by minimum id): read it, have the survivor absorb it,
/// retire it with compare-and-set on its version; repeating until one root remains;</item>
/// <item>repoint the identifiers that still name a retired profile (path compression), one message per slice.</item>
/// </list>
/// A claim is written before the profile content that mentions it, so a crash between the two leaves an identifier
/// naming a profile that does not know it yet, never an identifier in two profiles; the redelivered observation
/// completes it. No entity ever waits for another (this resolver drives every step), so there is no deadlock.
/// </remarks>
public sealed partial class IdentityResolver : IDisposable
{
    private readonly IActorRef profiles;
    private readonly IActorRef index;
    private readonly int sliceCount;
    private readonly TimeSpan askTimeout;
    private readonly ResolutionBatcher batcher;
    private readonly CancellationTokenSource stopping = new();

    public IdentityResolver(
        IActorRef profiles,
        IActorRef index,
        ObservationNormalizer normalizer,
        TimeSpan askTimeout,
        ProfileLimits? limits = null,
        int indexSlices = IndexSlices.DefaultSliceCount,
        BatchingOptions? batching = null)
    {
        this.profiles = profiles;
        this.index = index;
        this.askTimeout = askTimeout;
        sliceCount = indexSlices;
        Normalizer = normalizer;
        Limits = limits ?? ProfileLimits.Default;
        batcher = new ResolutionBatcher(batching ?? new BatchingOptions(), ResolveBatchAsync);
    }

    public ObservationNormalizer Normalizer { get; }

    /// <summary>The bounds on one profile; the identifier limit is checked here, before anything is claimed.</summary>
    public ProfileLimits Limits { get; }

    /// <summary>Validates, normalises and resolves; throws <see cref="ObservationRejectedException"/> for invalid input.</summary>
    public Task<ResolveResult> ResolveAsync(Observation observation, CancellationToken cancellationToken = default)
    {
        var normalized = Normalizer.Normalize(observation);
        return normalized.IsValid
            ? ResolveAsync(normalized.Observation!, cancellationToken)
            : Task.FromException<ResolveResult>(new ObservationRejectedException(normalized.Error!));
    }

    /// <summary>
    /// Resolves a normalised observation in the next micro-batch; completes when every effect of the batch is durable.
    /// Throws <see cref="ObservationRejectedException"/> when a limit refuses it (nothing was written for it).
    /// </summary>
    public Task<ResolveResult> ResolveAsync(NormalizedObservation observation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(observation);
        return batcher.Enqueue(observation, cancellationToken);
    }

    /// <summary>
    /// Stops resolving: queued observations and batches in flight fail at once (their callers resubmit after a restart,
    /// as Kafka redelivers what was not committed) instead of each waiting out its ask time-out. Called when the actor
    /// system terminates.
    /// </summary>
    public void Stop()
    {
        batcher.Dispose();
        stopping.Cancel();
    }

    public void Dispose()
    {
        Stop();
        stopping.Dispose();
    }

    /// <summary>The live profile that <paramref name="profileId"/> is or was merged into; null when it never existed.</summary>
    public async Task<ProfileId?> FindLiveProfileAsync(string profileId, CancellationToken cancellationToken = default)
    {
        var root = (await Ask<ProfileRoots>(profiles, RootsMessage(ProfileSliceOf(profileId), [profileId]), cancellationToken)).Roots[0];
        if (!root.Exists)
        {
            return null;
        }

        return ProfileId.Parse(root.MergedInto.Length == 0 ? profileId : (await RootOf(root.MergedInto, cancellationToken)).ProfileId);
    }

    /// <summary>The live profile holding the identifier with this key; null when no profile holds it.</summary>
    public async Task<ProfileId?> FindProfileByKeyAsync(IdentifierKey key, CancellationToken cancellationToken = default)
    {
        var owner = await OwnerOfAsync(key, cancellationToken);
        return owner is null ? null : ProfileId.Parse((await RootOf(owner, cancellationToken)).ProfileId);
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

        var snapshot = await Ask<ProfileSnapshotData>(
            profiles, new GetSliceProfileState { Slice = ProfileSliceOf(live.Value.Value), ProfileId = live.Value.Value }, cancellationToken);
        var state = WireMapping.FromWire(snapshot);
        return state.Status == ProfileStatus.Absent ? null : new LiveProfile(live.Value, state);
    }

    /// <summary>The live profile holding the identifier with this key, with its state; null when no profile holds it.</summary>
    public async Task<LiveProfile?> GetProfileByKeyAsync(IdentifierKey key, CancellationToken cancellationToken = default)
    {
        var owner = await OwnerOfAsync(key, cancellationToken);
        return owner is null ? null : await GetLiveProfileAsync(owner, cancellationToken);
    }

    /// <summary>
    /// Starts every index slice and profile slice (each recovers its part of the graph from the journal) and waits until
    /// all answer, so that the first observations after start do not wait for it.
    /// </summary>
    public Task StartIndexAsync(CancellationToken cancellationToken = default) =>
        Task.WhenAll(Enumerable.Range(0, sliceCount).SelectMany(slice => new Task[]
        {
            Ask<OwnersAnswer>(index, new LookupOwners { Slice = SliceEntityId(slice) }, cancellationToken),
            Ask<ProfileRoots>(profiles, new GetProfileRoots { Slice = SliceEntityId(slice) }, cancellationToken),
        }));

    /// <summary>The durable owner of one identifier: a dictionary look-up in its slice; activates no profile.</summary>
    private async Task<string?> OwnerOfAsync(IdentifierKey key, CancellationToken cancellationToken)
    {
        var lookup = new LookupOwners { Slice = SliceEntityId(IndexSlices.SliceOf(key, sliceCount)) };
        lookup.Keys.Add(key.Value);
        var answer = await Ask<OwnersAnswer>(index, lookup, cancellationToken);
        return answer.Owners[0] is { Length: > 0 } owner ? owner : null;
    }

    /// <summary>Follows redirects to the live root's answer (its id and identifier count); ids strictly decrease along a chain, so this terminates.</summary>
    private async Task<ProfileRoot> RootOf(string profileId, CancellationToken cancellationToken) =>
        (await RootsOf([profileId], cancellationToken))[profileId];

    /// <summary>
    /// The live root of each of <paramref name="profileIds"/>, following redirects level by level: one message per
    /// profile slice and level.
    /// </summary>
    private async Task<Dictionary<string, ProfileRoot>> RootsOf(IEnumerable<string> profileIds, CancellationToken cancellationToken)
    {
        var roots = new Dictionary<string, ProfileRoot>(StringComparer.Ordinal);
        // Each start's current position along its redirect chain.
        var at = profileIds.Distinct(StringComparer.Ordinal).ToDictionary(p => p, p => p, StringComparer.Ordinal);
        while (at.Count > 0)
        {
            var bySlice = at.Values.Distinct(StringComparer.Ordinal).GroupBy(ProfileSliceOf).ToList();
            var answers = await Task.WhenAll(bySlice.Select(g => Ask<ProfileRoots>(profiles, RootsMessage(g.Key, g), cancellationToken)));
            var answerOf = answers.SelectMany(a => a.Roots).ToDictionary(r => r.ProfileId, StringComparer.Ordinal);
            foreach (var (start, current) in at.ToList())
            {
                var root = answerOf[current];
                if (root.MergedInto.Length == 0)
                {
                    roots[start] = root;
                    at.Remove(start);
                }
                else
                {
                    at[start] = root.MergedInto;
                }
            }
        }

        return roots;
    }

    private static GetProfileRoots RootsMessage(string slice, IEnumerable<string> profileIds)
    {
        var message = new GetProfileRoots { Slice = slice };
        message.ProfileIds.AddRange(profileIds);
        return message;
    }

    /// <summary>The entity id of the profile slice that holds <paramref name="profileId"/>.</summary>
    private string ProfileSliceOf(string profileId) => SliceEntityId(ProfileSlices.SliceOf(ProfileId.Parse(profileId), sliceCount));

    private async Task<(string Survivor, int Merged)> MergeAll(
        HashSet<string> involved, NormalizedObservation cause, CancellationToken cancellationToken)
    {
        var merged = 0;
        var occurredAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(cause.ObservedAt);
        while (true)
        {
            var roots = (await RootsOf(involved, cancellationToken)).Values
                .Select(r => r.ProfileId)
                .ToHashSet(StringComparer.Ordinal);
            var survivor = Min(roots);
            if (roots.Count == 1)
            {
                return (survivor, merged);
            }

            var results = await Task.WhenAll(roots.Where(r => r != survivor).Select(r => RetireIntoAsync(r, survivor, cause.ObservationId, occurredAt, cancellationToken)));
            merged += results.Count(r => r.RetiredNow);
            involved = roots;
            foreach (var redirect in results.Where(r => !r.Merged && r.Redirect.Length > 0))
            {
                involved.Add(redirect.Redirect);
            }
        }
    }

    /// <summary>
    /// Merges <paramref name="retiring"/> into the smaller <paramref name="survivor"/>: reads its durable content and
    /// version, has the survivor absorb it durably, then records the redirect only if the version is unchanged
    /// (compare-and-set); if something reached the profile meanwhile, reads and absorbs again (absorbing is a join, so
    /// the repetition adds only what is new). No entity waits for another, so merges cannot deadlock. A crash between
    /// the absorb and the retire leaves both live with the content at the survivor: the retry repeats both.
    /// </summary>
    private async Task<RetireResult> RetireIntoAsync(
        string retiring, string survivor, string observationId, Google.Protobuf.WellKnownTypes.Timestamp occurredAt, CancellationToken cancellationToken)
    {
        var retiringSlice = ProfileSliceOf(retiring);
        while (true)
        {
            var read = await Ask<MergeContent>(profiles, new ReadForMerge { Slice = retiringSlice, ProfileId = retiring }, cancellationToken);
            if (read.Root.MergedInto.Length > 0)
            {
                return read.Root.MergedInto == survivor ? new RetireResult { Merged = true } : new RetireResult { Redirect = read.Root.MergedInto };
            }

            var absorbed = await Ask<AbsorbResult>(
                profiles,
                new AbsorbInSlice
                {
                    Slice = ProfileSliceOf(survivor),
                    Absorb = new Wire.AbsorbProfile
                    {
                        ProfileId = survivor,
                        Absorbed = retiring,
                        Content = read.Content,
                        ObservationId = observationId,
                        OccurredAt = occurredAt,
                    },
                },
                cancellationToken);
            if (absorbed.MergedInto.Length > 0)
            {
                // The survivor was merged away first: the merge loop starts again from the live roots.
                return new RetireResult { Redirect = absorbed.MergedInto };
            }

            var retired = await Ask<RetireResult>(
                profiles,
                new RetireProfile
                {
                    Slice = retiringSlice,
                    ProfileId = retiring,
                    Survivor = survivor,
                    ExpectedVersion = read.Version,
                    ObservationId = observationId,
                    OccurredAt = occurredAt,
                },
                cancellationToken);
            if (!retired.Stale)
            {
                return retired;
            }
        }
    }

    private static string Min(IEnumerable<string> ids) => ids.Min(StringComparer.Ordinal)!;

    /// <summary>
    /// Every ask of the protocol re-sends its message until it is answered (<see cref="ResendingAsk"/>): soon for reads
    /// and index slices, late for what makes a profile decide.
    /// </summary>
    private Task<T> Ask<T>(IActorRef region, object message, CancellationToken cancellationToken) =>
        ResendingAsk.Ask<T>(
            region,
            message,
            askTimeout,
            message is ObserveProfiles or AbsorbInSlice or RetireProfile ? ResendingAsk.Late : ResendingAsk.Soon,
            cancellationToken);
}
