using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Core.Resolution;

/// <summary>
/// A group of a micro-batch's observations that end on one profile: they share identifiers, directly or through other
/// observations of the batch, or their identifiers lead to the same live profile.
/// </summary>
/// <param name="Observations">Positions in the batch, ascending.</param>
/// <param name="Roots">The live profiles the owned identifiers lead to, distinct, ascending (the first survives a merge).</param>
/// <param name="OwnedKeys">The identifiers that have an owner, distinct, ordinal order.</param>
/// <param name="UnownedKeys">The identifiers to claim, distinct, ordinal order.</param>
/// <param name="Candidate">
/// The profile to claim for: the smallest root, or, when nothing is owned, the new id derived from the component's
/// first observation (the same derivation as one observation alone, <see cref="ProfileId.For(NormalizedObservation)"/>).
/// </param>
public sealed record BatchComponent(
    IReadOnlyList<int> Observations,
    IReadOnlyList<ProfileId> Roots,
    IReadOnlyList<IdentifierKey> OwnedKeys,
    IReadOnlyList<IdentifierKey> UnownedKeys,
    ProfileId Candidate)
{
    /// <summary>No identifier of the component is owned: it becomes a new profile unless a claim is lost.</summary>
    public bool IsNew => Roots.Count == 0;
}

/// <summary>
/// The in-memory union of one micro-batch: which observations belong together before anything is claimed. Pure and
/// deterministic: the same batch and roots give the same components, in the same order, with the same candidates,
/// whatever the order in which the roots dictionary enumerates.
/// </summary>
public static class BatchUnion
{
    /// <summary>The components of a batch of observations.</summary>
    /// <param name="rootOfOwnedKey">For each owned identifier of the batch, the live root of its owner; absent = unowned.</param>
    public static IReadOnlyList<BatchComponent> Components(
        IReadOnlyList<NormalizedObservation> observations, IReadOnlyDictionary<IdentifierKey, ProfileId> rootOfOwnedKey)
    {
        ArgumentNullException.ThrowIfNull(observations);
        return Components(
            [.. observations.Select(o => (IReadOnlyList<IdentifierKey>)[.. o.Identifiers.Select(i => i.Key)])],
            rootOfOwnedKey,
            first => ProfileId.For(observations[first]));
    }

    /// <summary>The components of a batch given as the identifier keys of each observation.</summary>
    /// <param name="observationKeys">Each observation's keys (at least one; duplicates allowed), by position in the batch.</param>
    /// <param name="rootOfOwnedKey">For each owned identifier of the batch, the live root of its owner; absent = unowned.</param>
    /// <param name="newProfileIdOf">
    /// The new profile id of a component without roots, from the position of its first observation; called once per
    /// such component.
    /// </param>
    /// <exception cref="ArgumentException">An observation has no keys, or a key or root has no value.</exception>
    public static IReadOnlyList<BatchComponent> Components(
        IReadOnlyList<IReadOnlyList<IdentifierKey>> observationKeys,
        IReadOnlyDictionary<IdentifierKey, ProfileId> rootOfOwnedKey,
        Func<int, ProfileId> newProfileIdOf)
    {
        ArgumentNullException.ThrowIfNull(observationKeys);
        ArgumentNullException.ThrowIfNull(rootOfOwnedKey);
        ArgumentNullException.ThrowIfNull(newProfileIdOf);

        var sets = new DisjointSets(observationKeys.Count);
        // Each key and each root is linked to the first observation that mentions it; the rest join that one.
        var firstWithKey = new Dictionary<IdentifierKey, int>();
        var firstWithRoot = new Dictionary<ProfileId, int>();
        for (var i = 0; i < observationKeys.Count; i++)
        {
            var keys = observationKeys[i] ?? throw new ArgumentException($"Observation {i} has no key list.", nameof(observationKeys));
            if (keys.Count == 0)
            {
                // A profile made from it could never be found again through any identifier.
                throw new ArgumentException($"Observation {i} has no identifier keys.", nameof(observationKeys));
            }

            foreach (var key in keys)
            {
                if (string.IsNullOrEmpty(key.Value))
                {
                    throw new ArgumentException($"Observation {i} has a key without a value.", nameof(observationKeys));
                }

                sets.Union(i, FirstOrAdd(firstWithKey, key, i));
                if (rootOfOwnedKey.TryGetValue(key, out var root))
                {
                    if (root.Value is null)
                    {
                        throw new ArgumentException("An owned key's root has no value (default ProfileId).", nameof(rootOfOwnedKey));
                    }

                    sets.Union(i, FirstOrAdd(firstWithRoot, root, i));
                }
            }
        }

        // Components in order of their first observation; within each, observations in batch order.
        var builderOf = new Dictionary<int, ComponentBuilder>();
        var builders = new List<ComponentBuilder>();
        for (var i = 0; i < observationKeys.Count; i++)
        {
            var representative = sets.Find(i);
            if (!builderOf.TryGetValue(representative, out var builder))
            {
                builderOf[representative] = builder = new ComponentBuilder();
                builders.Add(builder);
            }

            builder.Add(i, observationKeys[i], rootOfOwnedKey);
        }

        return [.. builders.Select(b => b.Build(newProfileIdOf))];
    }

    private static int FirstOrAdd<T>(Dictionary<T, int> firstOf, T item, int observation)
        where T : notnull =>
        firstOf.TryGetValue(item, out var first) ? first : firstOf[item] = observation;

    private sealed class ComponentBuilder
    {
        private readonly List<int> observations = [];
        private readonly HashSet<ProfileId> roots = [];
        private readonly HashSet<IdentifierKey> owned = [];
        private readonly HashSet<IdentifierKey> unowned = [];

        public void Add(int observation, IReadOnlyList<IdentifierKey> keys, IReadOnlyDictionary<IdentifierKey, ProfileId> rootOfOwnedKey)
        {
            observations.Add(observation);
            foreach (var key in keys)
            {
                if (rootOfOwnedKey.TryGetValue(key, out var root))
                {
                    roots.Add(root);
                    owned.Add(key);
                }
                else
                {
                    unowned.Add(key);
                }
            }
        }

        public BatchComponent Build(Func<int, ProfileId> newProfileIdOf)
        {
            ProfileId[] sortedRoots = [.. roots.Order()];
            var candidate = sortedRoots.Length > 0 ? sortedRoots[0] : newProfileIdOf(observations[0]);
            if (candidate.Value is null)
            {
                throw new InvalidOperationException("The new profile id of a component has no value (default ProfileId).");
            }

            return new BatchComponent(observations, sortedRoots, [.. owned.Order()], [.. unowned.Order()], candidate);
        }
    }
}
