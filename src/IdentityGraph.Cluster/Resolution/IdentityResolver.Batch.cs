using Akka.Actor;
using IdentityGraph.Cluster.Entities;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Cluster.Telemetry;
using IdentityGraph.Cluster.Wire;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Index;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using IdentityGraph.Core.Resolution;

namespace IdentityGraph.Cluster.Resolution;

/// <summary>The batch protocol (class remarks; docs/architecture.md › The route of an observation).</summary>
public sealed partial class IdentityResolver
{
    /// <summary>The entity id of slice <paramref name="slice"/>: the slice count is part of it, so a database written
    /// with another count is never read as if it had this one.</summary>
    private string SliceEntityId(int slice) => $"{sliceCount}-{slice}";

    private async Task ResolveBatchAsync(IReadOnlyList<PendingResolve> batch, CancellationToken abandoned)
    {
        // Every ask has its time-out; a cancelled caller only stops waiting, but a stopping node, or a batch that no
        // caller waits for any more, abandons the batch.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token, abandoned);
        var ct = linked.Token;

        // 1. Owners and their live roots.
        var owners = await LookupAsync(batch.SelectMany(p => p.Observation.Identifiers.Select(i => i.Key)).Distinct().ToList(), ct);
        var roots = new Dictionary<string, ProfileRoot>(StringComparer.Ordinal);
        await AddRootsAsync(roots, owners.Values, ct);

        // 2. The identifier limit, per observation in batch order, on the profile it would grow (with what earlier
        // observations of this batch add to it). Refused observations leave the graph as if they had never arrived.
        var accepted = CheckLimits(batch, owners, roots);

        // 3. Union in memory.
        var rootOfKey = owners.ToDictionary(p => p.Key, p => ProfileId.Parse(roots[p.Value].ProfileId));
        var components = BatchUnion.Components([.. accepted.Select(p => p.Observation)], rootOfKey);

        // 4. Claims, one message per slice.
        var claimed = await ClaimAsync(
            [.. components.SelectMany(c => c.UnownedKeys.Select(k => new ClaimRequest(k, c.Candidate)))], ct);
        var lostTo = components
            .SelectMany(c => c.UnownedKeys.Select(k => claimed[k]).Where(w => w != c.Candidate.Value))
            .Distinct(StringComparer.Ordinal);
        await AddRootsAsync(roots, lostTo, ct);

        // Each component's roots after the claims; components that now share a root are one group (one target).
        string RootAfterClaim(BatchComponent c, IdentifierKey key) =>
            claimed[key] == c.Candidate.Value ? c.Candidate.Value : roots[claimed[key]].ProfileId;
        var componentRoots = components
            .Select(c => c.Roots.Select(r => r.Value).Concat(c.UnownedKeys.Select(k => RootAfterClaim(c, k))).ToHashSet(StringComparer.Ordinal))
            .ToList();
        var groups = Regroup(componentRoots);

        // 5. Observe: one message per profile slice, with each of its targets' observations.
        var targets = groups
            .Select(g => (
                Observations: g.SelectMany(c => components[c].Observations).Order().Select(i => accepted[i]).ToList(),
                Roots: g.SelectMany(c => componentRoots[c]).ToHashSet(StringComparer.Ordinal)))
            .Select(g => (g.Observations, g.Roots, Target: Min(g.Roots)))
            .ToList();
        var observed = await ObserveAsync([.. targets.Select(t => (t.Target, t.Observations))], ct);

        // 6. and 7. Merges and repoints, per target.
        await Task.WhenAll(targets.Select(t => ResolveGroupAsync(t.Observations, observed[t.Target], owners, claimed, ct)));
    }

    /// <summary>Merge and repoint for the observations that ended on one profile; completes their callers.</summary>
    private async Task ResolveGroupAsync(
        List<PendingResolve> observations,
        ObserveBatchResult observed,
        Dictionary<IdentifierKey, string> owners,
        Dictionary<IdentifierKey, string> claimed,
        CancellationToken ct)
    {
        if (observed.Rejection.Length > 0)
        {
            throw new InvalidOperationException($"The profile refused the observations ({observed.Rejection}).");
        }

        // Everyone who holds one of these identifiers now, as the slices answered.
        var keyOwners = observations
            .SelectMany(p => p.Observation.Identifiers.Select(i => i.Key))
            .Distinct()
            .Select(k => (Key: k, Owner: owners.TryGetValue(k, out var o) ? o : claimed.GetValueOrDefault(k)))
            .Where(p => p.Owner is not null)
            .Select(p => (p.Key, Owner: p.Owner!))
            .ToList();
        var involved = keyOwners.Select(p => p.Owner).Append(observed.ProfileId).ToHashSet(StringComparer.Ordinal);
        var cause = observations[0].Observation;
        var (survivor, merged) = involved.Count == 1 ? (observed.ProfileId, 0) : await MergeAll(involved, cause, ct);

        if (merged > 0)
        {
            await RepointAsync([.. keyOwners.Where(p => p.Owner != survivor)
                .Select(p => new RepointRequest(p.Key, ProfileId.Parse(p.Owner), ProfileId.Parse(survivor)))], ct);
        }

        var survivorId = ProfileId.Parse(survivor);
        var firstChanged = observed.Changed.IndexOf(true);
        for (var i = 0; i < observations.Count; i++)
        {
            var outcome = i == 0 && merged > 0 ? ResolveOutcome.Merged
                : observed.Created && i == firstChanged ? ResolveOutcome.Created
                : i < observed.Changed.Count && observed.Changed[i] ? ResolveOutcome.Linked
                : ResolveOutcome.NothingNew;
            observations[i].Completion.TrySetResult(new ResolveResult(survivorId, outcome, i == 0 ? merged : 0));
        }
    }

    /// <summary>
    /// Sends each target its observations, one message per profile slice; a target merged away meanwhile answers with
    /// its survivor, and its observations go there in the next round. The answer per original target.
    /// </summary>
    private async Task<Dictionary<string, ObserveBatchResult>> ObserveAsync(
        IReadOnlyList<(string Target, List<PendingResolve> Observations)> targets, CancellationToken ct)
    {
        var results = new Dictionary<string, ObserveBatchResult>(StringComparer.Ordinal);
        var round = targets.Select(t => (Original: t.Target, Current: t.Target, Batch: BatchFor(t.Target, t.Observations))).ToList();
        while (round.Count > 0)
        {
            var bySlice = round.GroupBy(t => ProfileSliceOf(t.Current)).ToList();
            var answers = await Task.WhenAll(bySlice.Select(g =>
            {
                var message = new ObserveProfiles { Slice = g.Key };
                message.Targets.AddRange(g.Select(t => t.Batch));
                return Ask<ObserveProfilesResult>(profiles, message, ct);
            }));
            var next = new List<(string Original, string Current, ObserveProfileBatch Batch)>();
            for (var s = 0; s < bySlice.Count; s++)
            {
                var i = 0;
                foreach (var target in bySlice[s])
                {
                    var result = answers[s].Results[i++];
                    if (result.MergedInto.Length > 0)
                    {
                        next.Add((target.Original, result.MergedInto, new ObserveProfileBatch(target.Batch) { ProfileId = result.MergedInto, Local = target.Batch.Local }));
                    }
                    else
                    {
                        results[target.Original] = result;
                    }
                }
            }

            round = next;
        }

        return results;

        static ObserveProfileBatch BatchFor(string target, List<PendingResolve> observations)
        {
            // The wire form is written only if the message leaves this node (GraphSerializer).
            return new ObserveProfileBatch { ProfileId = target, Local = [.. observations.Select(p => p.Observation)] };
        }
    }

    /// <summary>
    /// The observations that pass the identifier limit. In batch order, each is checked against what the profiles it
    /// touches hold plus what earlier accepted observations of the batch add to them (a running union), so a batch of
    /// observations that each add a little cannot together grow a profile past the limit. A refused caller gets
    /// <see cref="ObservationRejectedException"/>.
    /// </summary>
    private List<PendingResolve> CheckLimits(
        IReadOnlyList<PendingResolve> batch, Dictionary<IdentifierKey, string> owners, Dictionary<string, ProfileRoot> roots)
    {
        var sets = new DisjointSets();
        var held = new List<int>();
        var setOfKey = new Dictionary<IdentifierKey, int>();
        var setOfRoot = new Dictionary<string, int>(StringComparer.Ordinal);
        var accepted = new List<PendingResolve>();
        // Per observation, cleared and reused (this runs for every observation of every batch).
        var keys = new HashSet<IdentifierKey>();
        var touched = new HashSet<int>();
        // Keyed by the live root's id (an owner may have been merged into it), with the root's identifier count.
        var newRoots = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var pending in batch)
        {
            keys.Clear();
            touched.Clear();
            newRoots.Clear();
            foreach (var identifier in pending.Observation.Identifiers)
            {
                keys.Add(identifier.Key);
            }

            var added = 0;
            foreach (var key in keys)
            {
                if (setOfKey.TryGetValue(key, out var set))
                {
                    touched.Add(sets.Find(set));
                }
                else if (owners.TryGetValue(key, out var owner))
                {
                    var root = roots[owner];
                    if (setOfRoot.TryGetValue(root.ProfileId, out var rootSet))
                    {
                        touched.Add(sets.Find(rootSet));
                    }
                    else
                    {
                        newRoots[root.ProfileId] = root.IdentifierCount;
                    }
                }
                else
                {
                    added++;
                }
            }

            var holding = 0;
            foreach (var set in touched)
            {
                holding += held[set];
            }

            foreach (var count in newRoots.Values)
            {
                holding += count;
            }

            if (Limits.CheckIdentifiers(holding, added, touched.Count + newRoots.Count) is { } refusal)
            {
                ProfileLimitMetrics.ObservationRefused();
                pending.Completion.TrySetException(new ObservationRejectedException(refusal));
                continue;
            }

            accepted.Add(pending);
            var joined = sets.Add();
            held.Add(0);
            foreach (var other in touched)
            {
                sets.Union(joined, other);
            }

            var representative = sets.Find(joined);
            held[representative] = holding + added;
            foreach (var key in keys)
            {
                setOfKey[key] = representative;
            }

            foreach (var root in newRoots.Keys)
            {
                setOfRoot[root] = representative;
            }
        }

        return accepted;
    }

    /// <summary>Groups of component indexes whose root sets intersect (transitively).</summary>
    private static List<List<int>> Regroup(List<HashSet<string>> componentRoots)
    {
        var sets = new DisjointSets(componentRoots.Count);
        var firstWithRoot = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var c = 0; c < componentRoots.Count; c++)
        {
            foreach (var root in componentRoots[c])
            {
                if (firstWithRoot.TryGetValue(root, out var first))
                {
                    sets.Union(c, first);
                }
                else
                {
                    firstWithRoot[root] = c;
                }
            }
        }

        return [.. Enumerable.Range(0, componentRoots.Count).GroupBy(sets.Find).Select(g => g.ToList())];
    }

    /// <summary>Adds the live root of every owner not yet in <paramref name="roots"/>.</summary>
    private async Task AddRootsAsync(Dictionary<string, ProfileRoot> roots, IEnumerable<string> owners, CancellationToken ct)
    {
        foreach (var (owner, root) in await RootsOf(owners.Where(o => !roots.ContainsKey(o)), ct))
        {
            roots[owner] = root;
        }
    }

    /// <summary>The durable owners of <paramref name="keys"/> that have one: one message per slice.</summary>
    private async Task<Dictionary<IdentifierKey, string>> LookupAsync(IReadOnlyList<IdentifierKey> keys, CancellationToken ct)
    {
        var bySlice = keys.GroupBy(k => IndexSlices.SliceOf(k, sliceCount)).ToList();
        var answers = await Task.WhenAll(bySlice.Select(g =>
        {
            var lookup = new LookupOwners { Slice = SliceEntityId(g.Key) };
            lookup.Keys.AddRange(g.Select(k => k.Value));
            return Ask<OwnersAnswer>(index, lookup, ct);
        }));
        var owners = new Dictionary<IdentifierKey, string>();
        for (var s = 0; s < bySlice.Count; s++)
        {
            var i = 0;
            foreach (var key in bySlice[s])
            {
                if (answers[s].Owners[i++] is { Length: > 0 } owner)
                {
                    owners[key] = owner;
                }
            }
        }

        return owners;
    }

    /// <summary>Claims, one message per slice; the owner of every claimed key afterwards (the candidate or the winner).</summary>
    private async Task<Dictionary<IdentifierKey, string>> ClaimAsync(
        IReadOnlyList<ClaimRequest> claims, CancellationToken ct)
    {
        var bySlice = claims.GroupBy(c => IndexSlices.SliceOf(c.Key, sliceCount)).ToList();
        var answers = await Task.WhenAll(bySlice.Select(g =>
        {
            var message = new ClaimOwners { Slice = SliceEntityId(g.Key) };
            message.Claims.AddRange(g.Select(c => new ClaimData { Key = c.Key.Value, Candidate = c.Candidate.Value }));
            return Ask<OwnersAnswer>(index, message, ct);
        }));
        var owners = new Dictionary<IdentifierKey, string>();
        for (var s = 0; s < bySlice.Count; s++)
        {
            var i = 0;
            foreach (var claim in bySlice[s])
            {
                owners[claim.Key] = answers[s].Owners[i++];
            }
        }

        return owners;
    }

    private Task<OwnersAnswer[]> RepointAsync(IReadOnlyList<RepointRequest> repoints, CancellationToken ct) =>
        Task.WhenAll(repoints.GroupBy(r => IndexSlices.SliceOf(r.Key, sliceCount)).Select(g =>
        {
            var message = new RepointOwners { Slice = SliceEntityId(g.Key) };
            message.Repoints.AddRange(g.Select(r => new RepointData { Key = r.Key.Value, From = r.From.Value, To = r.To.Value }));
            return Ask<OwnersAnswer>(index, message, ct);
        }));
}
