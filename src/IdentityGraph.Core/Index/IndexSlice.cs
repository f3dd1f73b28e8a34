using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Core.Index;

/// <summary>
/// One slice of the identifier index: identifier key → owning profile id and version. Pure and mutable, owned by one
/// actor, which decides, writes, and only then applies.
/// </summary>
/// <remarks>
/// <para>
/// Two layers: <em>durable</em> owners (written to the journal, or recovered from it) and <em>pending</em> ones
/// (decided and being written). Decisions see both, so two batches in flight cannot both claim one identifier;
/// <see cref="Lookup"/> answers only durable owners and says when a change is pending, so the actor can defer.
/// </para>
/// <para>The actor's cycle:</para>
/// <list type="number">
/// <item><see cref="DecideClaims"/> or <see cref="DecideRepoints"/> (no mutation);</item>
/// <item><see cref="Stage"/> the decision's changes, then write them (one journal event per decision);</item>
/// <item>when the write is durable, <see cref="MarkDurable"/> them and send the answers
/// (<see cref="IndexDecision.AwaitsDurability"/>: without changes of its own, a decision may still depend on an earlier
/// write in flight);</item>
/// <item>on recovery, <see cref="FromSnapshot"/> and <see cref="Apply"/> each journalled change; replaying a change
/// twice is a no-op.</item>
/// </list>
/// <para>
/// Rules: a claim is compare-and-set (the first claim wins, later ones learn the owner); a repoint moves an owner only
/// from the expected profile to a smaller id (a merge survivor). Owners therefore only ever move to smaller ids today.
/// </para>
/// <para>
/// Room for splits (not built): a split must move an identifier to a <em>larger</em> id. It would be a third decision,
/// a move accepted only when the identifier's current version equals the version the requester read (optimistic
/// concurrency instead of "smaller wins"), producing a change with the next version. <see cref="Apply"/> and replay
/// already order changes by version alone, never by id, so they need no change for it.
/// </para>
/// </remarks>
public sealed class IndexSlice
{
    // Packed: a key as its 32 bytes, an owner as its 128-bit number (docs/identifier-index.md › Memory). As strings
    // an entry cost about 300 bytes (a 64-character key, a 26-character owner per entry); packed it is 64.
    private readonly Dictionary<PackedKey, Owned> durable = [];
    private readonly Dictionary<PackedKey, Owned> pending = [];

    /// <summary>Identifiers with a durable owner.</summary>
    public int Count => durable.Count;

    /// <summary>Identifiers with a change decided and staged but not durable yet.</summary>
    public int PendingCount => pending.Count;

    /// <summary>The durable owner of <paramref name="key"/>, and whether a change of it is pending.</summary>
    public IndexLookup Lookup(IdentifierKey key)
    {
        var packed = PackedKey.From(key);
        var hasPending = pending.ContainsKey(packed);
        return durable.TryGetValue(packed, out var owned)
            ? new IndexLookup(ProfileId.FromBits(owned.Owner), owned.Version, hasPending)
            : new IndexLookup(null, 0, hasPending);
    }

    /// <summary>
    /// Decides claims in order against durable and pending owners: an owned identifier answers its owner; an unowned
    /// one is claimed by the candidate (version 1). A later claim in the same list for an identifier claimed earlier
    /// in it answers the earlier candidate and adds no change.
    /// </summary>
    public IndexDecision DecideClaims(IReadOnlyList<ClaimRequest> claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        var decision = new DecisionBuilder(this);
        foreach (var (key, candidate) in claims)
        {
            var packed = PackedKey.From(key);
            ThrowIfInvalid(candidate, nameof(claims));
            if (decision.Current(packed) is { } owned)
            {
                decision.Answer(key, owned.Owner, owned.Pending);
            }
            else
            {
                decision.Change(key, packed, candidate);
            }
        }

        return decision.Build();
    }

    /// <summary>
    /// Decides repoints in order against durable and pending owners: an identifier moves only when it names
    /// <see cref="RepointRequest.From"/> and <see cref="RepointRequest.To"/> is smaller (ordinal); otherwise the answer
    /// is its current owner (null when no one holds it).
    /// </summary>
    public IndexDecision DecideRepoints(IReadOnlyList<RepointRequest> repoints)
    {
        ArgumentNullException.ThrowIfNull(repoints);
        var decision = new DecisionBuilder(this);
        foreach (var (key, from, to) in repoints)
        {
            var packed = PackedKey.From(key);
            ThrowIfInvalid(from, nameof(repoints));
            ThrowIfInvalid(to, nameof(repoints));
            var current = decision.Current(packed);
            if (current?.Owner == from && to < from)
            {
                decision.Change(key, packed, to);
            }
            else
            {
                decision.Answer(key, current?.Owner, current?.Pending ?? false);
            }
        }

        return decision.Build();
    }

    /// <summary>
    /// Records a decision's changes as pending (being written), so that later decisions see them. Call it right after
    /// deciding, before anything else can decide.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// A change does not follow the current version of its identifier: it was decided on a state that has changed
    /// since (a decision that was not staged before the next one was made).
    /// </exception>
    public void Stage(IReadOnlyList<IndexChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var keys = new PackedKey[changes.Count];
        for (var i = 0; i < changes.Count; i++)
        {
            var change = changes[i];
            keys[i] = Validated(change, nameof(changes));
            var current = CurrentVersion(keys[i]);
            if (change.Version != current + 1)
            {
                throw new InvalidOperationException(
                    $"Change version {change.Version} does not follow the identifier's current version {current}: "
                    + "it was decided on a state that has changed since.");
            }
        }

        // Checked first, then recorded: a refused list leaves the slice as it was.
        for (var i = 0; i < changes.Count; i++)
        {
            pending[keys[i]] = new Owned(changes[i].Owner.ToBits(), changes[i].Version);
        }
    }

    /// <summary>The write of these changes is durable: they become the durable owners (<see cref="Apply"/> each).</summary>
    public void MarkDurable(IReadOnlyList<IndexChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        foreach (var change in changes)
        {
            Apply(change);
        }
    }

    /// <summary>
    /// Makes a durable change part of the durable owners: a change whose version is not above the identifier's durable
    /// version is ignored (replay safety). A pending change it covers is no longer pending.
    /// </summary>
    /// <returns>Whether the durable owner changed.</returns>
    public bool Apply(IndexChange change)
    {
        var key = Validated(change, nameof(change));
        if (pending.TryGetValue(key, out var staged) && staged.Version <= change.Version)
        {
            pending.Remove(key);
        }

        if (durable.TryGetValue(key, out var owned) && owned.Version >= change.Version)
        {
            return false;
        }

        durable[key] = new Owned(change.Owner.ToBits(), change.Version);
        return true;
    }

    /// <summary>The durable owners (pending changes are not part of a snapshot), ordered by key.</summary>
    /// <remarks>
    /// Take it when <see cref="PendingCount"/> is 0: a journal stamps a snapshot with the last sequence number handed
    /// out, which covers events still being written, and recovery would then skip them.
    /// </remarks>
    public IReadOnlyList<IndexEntry> ToSnapshot() =>
        [.. durable.Select(p => new IndexEntry(p.Key.ToKey(), ProfileId.FromBits(p.Value.Owner), p.Value.Version)).OrderBy(e => e.Key)];

    /// <summary>A slice whose durable owners are <paramref name="entries"/> (as <see cref="ToSnapshot"/> wrote them).</summary>
    /// <exception cref="ArgumentException">An entry is invalid or an identifier appears twice.</exception>
    public static IndexSlice FromSnapshot(IEnumerable<IndexEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var slice = new IndexSlice();
        foreach (var (key, owner, version) in entries)
        {
            var packed = Validated(new IndexChange(key, owner, version), nameof(entries));
            if (!slice.durable.TryAdd(packed, new Owned(owner.ToBits(), version)))
            {
                throw new ArgumentException("A snapshot holds an identifier twice.", nameof(entries));
            }
        }

        return slice;
    }

    private long CurrentVersion(PackedKey key) =>
        pending.TryGetValue(key, out var staged) ? staged.Version
        : durable.TryGetValue(key, out var owned) ? owned.Version
        : 0;

    private static void ThrowIfInvalid(ProfileId id, string parameter)
    {
        if (id.Value is null)
        {
            throw new ArgumentException("A profile id has no value (default ProfileId).", parameter);
        }
    }

    /// <summary>The change's key, packed; throws when the key, owner or version is invalid.</summary>
    private static PackedKey Validated(IndexChange change, string parameter)
    {
        var key = PackedKey.From(change.Key);
        ThrowIfInvalid(change.Owner, parameter);
        if (change.Version < 1)
        {
            throw new ArgumentException($"A change's version starts at 1; got {change.Version}.", parameter);
        }

        return key;
    }

    private readonly record struct Owned(UInt128 Owner, long Version);

    /// <summary>
    /// One decision in the making: sees the slice's pending-over-durable owners plus its own changes, keeps at most one
    /// change per identifier (the version goes up by one per decision, however many requests touched it).
    /// </summary>
    private sealed class DecisionBuilder(IndexSlice slice)
    {
        private readonly List<IndexAnswer> answers = [];
        private readonly Dictionary<PackedKey, int> changeIndexOf = [];
        private readonly List<IndexChange> changes = [];

        /// <summary>The owner as this decision sees it, and whether it is durable.</summary>
        public (ProfileId Owner, bool Pending)? Current(PackedKey key) =>
            changeIndexOf.TryGetValue(key, out var index) ? (changes[index].Owner, true)
            : slice.pending.TryGetValue(key, out var staged) ? (ProfileId.FromBits(staged.Owner), true)
            : slice.durable.TryGetValue(key, out var owned) ? (ProfileId.FromBits(owned.Owner), false)
            : null;

        /// <summary>An answer without a change: the owner as <see cref="Current"/> saw it (none: not pending).</summary>
        public void Answer(IdentifierKey key, ProfileId? owner, bool pending) =>
            answers.Add(new IndexAnswer(key, owner, owner is not null && pending));

        public void Change(IdentifierKey key, PackedKey packed, ProfileId owner)
        {
            if (changeIndexOf.TryGetValue(packed, out var index))
            {
                changes[index] = changes[index] with { Owner = owner };
            }
            else
            {
                changeIndexOf[packed] = changes.Count;
                changes.Add(new IndexChange(key, owner, slice.CurrentVersion(packed) + 1));
            }

            answers.Add(new IndexAnswer(key, owner, Pending: true, Changed: true));
        }

        public IndexDecision Build() => new(answers, changes);
    }
}
