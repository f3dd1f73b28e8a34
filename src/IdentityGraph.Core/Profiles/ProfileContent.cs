using System.Collections.Immutable;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Core.Profiles;

/// <summary>An identifier of a profile, with when and through which channels it was seen.</summary>
/// <param name="FirstSeen">The exact event time of the earliest sighting (an earlier sighting is new information).</param>
/// <param name="LastSeen">The UTC day of the latest sighting, see <see cref="LastSeen"/>.</param>
public sealed record IdentifierRecord(
    IdentifierKey Key, NormalizedIdentifier Identifier, DateTimeOffset FirstSeen, DateTimeOffset LastSeen, ChannelSet Channels)
{
    /// <summary>
    /// The start (00:00 UTC) of the UTC day of the latest sighting, never a finer time: a sighting on a day already
    /// recorded changes nothing, so a repeat visit writes nothing. Truncated however the record is made (also from
    /// events written before this rule, which held exact times), so replay gives the same state. May be earlier than
    /// <see cref="FirstSeen"/> when every sighting falls on one day.
    /// </summary>
    public DateTimeOffset LastSeen { get; init => field = UtcDay.StartOf(value); } = UtcDay.StartOf(LastSeen);

    public IdentifierRecord Join(IdentifierRecord other) => new(
        Key,
        Identifier,
        FirstSeen <= other.FirstSeen ? FirstSeen : other.FirstSeen,
        LastSeen >= other.LastSeen ? LastSeen : other.LastSeen,
        Channels.Union(other.Channels));

    public bool Equals(IdentifierRecord? other) =>
        other is not null && Key == other.Key && Identifier == other.Identifier && FirstSeen == other.FirstSeen
        && LastSeen == other.LastSeen && Channels == other.Channels;

    public override int GetHashCode() => HashCode.Combine(Key, FirstSeen, LastSeen, Channels.Count);
}

/// <summary>Why identifiers are in one profile: the observation that saw them together (kept for explain and split).</summary>
public sealed record LinkEvidence(string ObservationId, DateTimeOffset ObservedAt, string Source, Channel Channel, ImmutableArray<IdentifierKey> Keys)
{
    /// <summary>The linked key set: evidence is unique per key set.</summary>
    public LinkedKeys KeySet => new(Keys);

    /// <summary>The evidence <paramref name="observation"/> gives: null when it has fewer than two identifiers (a single
    /// identifier links nothing, so evidence is kept only for observations that link two or more).</summary>
    public static LinkEvidence? Of(NormalizedObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        return observation.Identifiers.Count > 1
            ? new LinkEvidence(observation.ObservationId, observation.ObservedAt, observation.Source, observation.Channel, [.. observation.Identifiers.Select(i => i.Key).Order()])
            : null;
    }

    /// <summary>
    /// Earlier evidence first; ties by observation id, then key set, source and channel. The order that decides which
    /// evidence is kept. Total over every field: a producer may reuse an observation id for other content, and the
    /// choice between the two must not depend on which arrived first.
    /// </summary>
    public static int Compare(LinkEvidence a, LinkEvidence b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var order = a.ObservedAt.CompareTo(b.ObservedAt);
        if (order == 0)
        {
            order = string.CompareOrdinal(a.ObservationId, b.ObservationId);
        }

        if (order == 0)
        {
            order = a.KeySet.CompareTo(b.KeySet);
        }

        if (order == 0)
        {
            order = string.CompareOrdinal(a.Source, b.Source);
        }

        return order != 0 ? order : a.Channel.CompareTo(b.Channel);
    }

    public bool Equals(LinkEvidence? other) =>
        other is not null && ObservationId == other.ObservationId && ObservedAt == other.ObservedAt && Source == other.Source
        && Channel == other.Channel && KeySet == other.KeySet;

    public override int GetHashCode() => HashCode.Combine(ObservationId, KeySet);
}

/// <summary>The standing explicit consent choice for one purpose on one contact channel.</summary>
public sealed record ConsentRecord(string Purpose, ContactChannel Channel, ConsentStatus Status, DateTimeOffset DecidedAt, string ObservationId)
{
    /// <summary>The key consents are merged by: purpose × contact channel.</summary>
    public string Slot => $"{Purpose}|{(int)Channel}";

    /// <summary>
    /// Which of two choices for the same slot stands, in this order: the later UTC day of <see cref="DecidedAt"/>; within
    /// one day DENIED (the privacy-safe choice); then the <em>earlier</em> <see cref="DecidedAt"/> and the smaller
    /// observation id (ordinal). A total order over the record's own fields, so every node and every arrival order picks
    /// the same; and the same decision repeated later that day (a repeat visit) never displaces the one recorded, so it
    /// writes nothing.
    /// </summary>
    public static ConsentRecord Winner(ConsentRecord a, ConsentRecord b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var byDay = UtcDay.StartOf(a.DecidedAt).CompareTo(UtcDay.StartOf(b.DecidedAt));
        if (byDay != 0)
        {
            return byDay > 0 ? a : b;
        }

        if (a.Status != b.Status)
        {
            return a.Status == ConsentStatus.Denied ? a : b.Status == ConsentStatus.Denied ? b : a.Status > b.Status ? a : b;
        }

        var byTime = a.DecidedAt.CompareTo(b.DecidedAt);
        if (byTime != 0)
        {
            return byTime < 0 ? a : b;
        }

        return string.CompareOrdinal(a.ObservationId, b.ObservationId) <= 0 ? a : b;
    }
}

/// <summary>An attribute value and the observation that set it.</summary>
public sealed record AttributeRecord(string Key, string Value, DateTimeOffset ObservedAt, string ObservationId)
{
    /// <summary>
    /// Which of two values for the same key stands, in this order: the later UTC day of <see cref="ObservedAt"/> (last
    /// writer by day); within one day the larger value (ordinal); for the same value the <em>earlier</em>
    /// <see cref="ObservedAt"/>, then the smaller observation id (ordinal). A total order over the record's own fields,
    /// so the result does not depend on arrival order; and seeing the standing value again later that day (a repeat
    /// visit) changes nothing, so it writes nothing. (Exact last-writer-wins cannot have that: it must record every
    /// later sighting of the value, or an earlier other value arriving late would win.)
    /// </summary>
    public static AttributeRecord Winner(AttributeRecord a, AttributeRecord b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var byDay = UtcDay.StartOf(a.ObservedAt).CompareTo(UtcDay.StartOf(b.ObservedAt));
        if (byDay != 0)
        {
            return byDay > 0 ? a : b;
        }

        var byValue = string.CompareOrdinal(a.Value, b.Value);
        if (byValue != 0)
        {
            return byValue > 0 ? a : b;
        }

        var byTime = a.ObservedAt.CompareTo(b.ObservedAt);
        if (byTime != 0)
        {
            return byTime < 0 ? a : b;
        }

        return string.CompareOrdinal(a.ObservationId, b.ObservationId) <= 0 ? a : b;
    }
}

/// <summary>
/// What a profile knows, as a join-semilattice: <see cref="Join"/> is commutative, associative and idempotent, so
/// observations and merges may arrive in any order, any number of times, and give the same profile. The merge policy
/// per part is documented in docs/profile-merge-policy.md.
/// </summary>
public sealed record ProfileContent
{
    /// <summary>At most this many link evidence entries are kept (the earliest); evidence explains, it is not the graph.</summary>
    public const int MaxEvidence = 64;

    // Shared, not made per content: an empty map with a comparer is an object of its own.
    private static readonly ImmutableSortedDictionary<string, ConsentRecord> NoConsents = ImmutableSortedDictionary.Create<string, ConsentRecord>(StringComparer.Ordinal);
    private static readonly ImmutableSortedDictionary<string, AttributeRecord> NoAttributes = ImmutableSortedDictionary.Create<string, AttributeRecord>(StringComparer.Ordinal);

    public static ProfileContent Empty { get; } = new();

    public ImmutableSortedDictionary<IdentifierKey, IdentifierRecord> Identifiers { get; init; } = ImmutableSortedDictionary<IdentifierKey, IdentifierRecord>.Empty;

    /// <summary>Link evidence by key set.</summary>
    public ImmutableSortedDictionary<LinkedKeys, LinkEvidence> Evidence { get; init; } = ImmutableSortedDictionary<LinkedKeys, LinkEvidence>.Empty;

    /// <summary>Consents by purpose × contact channel (<see cref="ConsentRecord.Slot"/>).</summary>
    public ImmutableSortedDictionary<string, ConsentRecord> Consents { get; init; } = NoConsents;

    public ImmutableSortedDictionary<string, AttributeRecord> Attributes { get; init; } = NoAttributes;

    /// <summary>Profiles merged into this one (directly or through earlier merges).</summary>
    public ImmutableSortedSet<ProfileId> MergedProfileIds { get; init; } = [];

    /// <summary>Earliest event time seen, exact; null for empty content.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>
    /// The start (00:00 UTC) of the UTC day of the latest event time seen; null for empty content. Day-granular like
    /// <see cref="IdentifierRecord.LastSeen"/> (truncated however it is set), so a repeat visit on a day already recorded
    /// changes nothing. May be earlier than <see cref="CreatedAt"/> (exact) on a profile's first day.
    /// </summary>
    public DateTimeOffset? UpdatedAt { get; init => field = value is { } time ? UtcDay.StartOf(time) : null; }

    /// <summary>
    /// Attribute keys ordinally greater than this are not kept; null: no bound yet. Set by
    /// <see cref="WithAttributesBoundedTo"/> once a profile holds more attribute keys than it may. It only ever
    /// decreases (join takes the smaller), so it travels in deltas like any other part and the cap needs no
    /// configuration to replay.
    /// </summary>
    public string? AttributeHorizon { get; init; }

    public bool IsEmpty =>
        Identifiers.IsEmpty && Evidence.IsEmpty && Consents.IsEmpty && Attributes.IsEmpty && MergedProfileIds.IsEmpty
        && CreatedAt is null && UpdatedAt is null && AttributeHorizon is null;

    /// <summary>What one observation says about its profile.</summary>
    public static ProfileContent FromObservation(NormalizedObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        var at = observation.ObservedAt;
        var day = UtcDay.StartOf(at);
        var channels = ChannelSet.Of(observation.Channel);
        var identifiers = ImmutableSortedDictionary.CreateBuilder<IdentifierKey, IdentifierRecord>();
        foreach (var identifier in observation.Identifiers)
        {
            identifiers.Add(identifier.Key, new IdentifierRecord(identifier.Key, identifier.Identifier, at, day, channels));
        }

        var content = new ProfileContent
        {
            Identifiers = identifiers.ToImmutable(),
            Consents = observation.Consents.Count == 0 ? NoConsents : observation.Consents
                .Select(c => new ConsentRecord(c.Purpose, c.Channel, c.Status, c.DecidedAt, observation.ObservationId))
                .GroupBy(c => c.Slot)
                .ToImmutableSortedDictionary(g => g.Key, g => g.Aggregate(ConsentRecord.Winner), StringComparer.Ordinal),
            Attributes = observation.Attributes.Count == 0 ? NoAttributes : observation.Attributes.ToImmutableSortedDictionary(
                a => a.Key, a => new AttributeRecord(a.Key, a.Value, at, observation.ObservationId), StringComparer.Ordinal),
            CreatedAt = at,
            UpdatedAt = day,
        };

        if (LinkEvidence.Of(observation) is { } evidence)
        {
            content = content with { Evidence = content.Evidence.Add(evidence.KeySet, evidence) };
        }

        return content;
    }

    /// <summary>
    /// True only when <paramref name="observation"/> would change nothing here (its delta under
    /// <paramref name="limits"/> empty, no attribute dropped), decided from the held entries alone: a repeat visit
    /// costs a few lookups instead of building the observation's content and a join. False means "not known": the
    /// caller takes the delta. Never true where the delta would not be empty (property-tested against
    /// <see cref="Delta(ProfileContent, ProfileLimits, out int)"/>).
    /// </summary>
    public bool SurelyAddsNothing(NormalizedObservation observation, ProfileLimits limits)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(limits);
        var at = observation.ObservedAt;
        var day = UtcDay.StartOf(at);
        if (CreatedAt is not { } created || created > at || UpdatedAt is not { } updated || updated < day
            || Attributes.Count > limits.MaxAttributes)
        {
            return false;
        }

        foreach (var identifier in observation.Identifiers)
        {
            if (!Identifiers.TryGetValue(identifier.Key, out var held) || held.FirstSeen > at || held.LastSeen < day
                || !held.Channels.Contains(observation.Channel))
            {
                return false;
            }
        }

        if (LinkEvidence.Of(observation) is { } evidence
            && (!Evidence.TryGetValue(evidence.KeySet, out var heldEvidence) || LinkEvidence.Compare(heldEvidence, evidence) > 0))
        {
            return false;
        }

        foreach (var consent in observation.Consents)
        {
            var choice = new ConsentRecord(consent.Purpose, consent.Channel, consent.Status, consent.DecidedAt, observation.ObservationId);
            if (!Consents.TryGetValue(choice.Slot, out var held) || !ConsentRecord.Winner(held, choice).Equals(held))
            {
                return false;
            }
        }

        foreach (var attribute in observation.Attributes)
        {
            // A key past the horizon would be dropped (and counted): left to the delta.
            var value = new AttributeRecord(attribute.Key, attribute.Value, at, observation.ObservationId);
            if (!Attributes.TryGetValue(attribute.Key, out var held) || !AttributeRecord.Winner(held, value).Equals(held))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The least upper bound of two contents.</summary>
    public ProfileContent Join(ProfileContent other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var horizon = MinKey(AttributeHorizon, other.AttributeHorizon);
        return new ProfileContent
        {
            Identifiers = JoinMaps(Identifiers, other.Identifiers, (a, b) => a.Join(b)),
            Evidence = Bound(JoinMaps(Evidence, other.Evidence, (a, b) => LinkEvidence.Compare(a, b) <= 0 ? a : b)),
            Consents = JoinMaps(Consents, other.Consents, ConsentRecord.Winner),
            Attributes = BelowHorizon(JoinMaps(Attributes, other.Attributes, AttributeRecord.Winner), horizon),
            MergedProfileIds = MergedProfileIds.Union(other.MergedProfileIds),
            CreatedAt = Min(CreatedAt, other.CreatedAt),
            UpdatedAt = Max(UpdatedAt, other.UpdatedAt),
            AttributeHorizon = horizon,
        };
    }

    /// <summary>
    /// This content keeping at most <paramref name="maxAttributes"/> attribute keys: the smallest (ordinal), with the
    /// horizon lowered to the largest kept key. Order-independent: bounding after every join gives the same content as
    /// bounding once after all of them, so the content stays a join-semilattice.
    /// </summary>
    public ProfileContent WithAttributesBoundedTo(int maxAttributes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttributes, 1);
        if (Attributes.Count <= maxAttributes)
        {
            return this;
        }

        var horizon = Attributes.Keys.ElementAt(maxAttributes - 1);
        return this with { Attributes = BelowHorizon(Attributes, horizon), AttributeHorizon = MinKey(AttributeHorizon, horizon) };
    }

    /// <summary>
    /// The part of <paramref name="other"/> that would change this content: <c>this.Join(Delta(other)) == this.Join(other)</c>,
    /// and the delta is empty when <paramref name="other"/> adds nothing (so a repeated observation writes nothing).
    /// </summary>
    public ProfileContent Delta(ProfileContent other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return DeltaTo(Join(other), other);
    }

    /// <summary>
    /// As <see cref="Delta(ProfileContent)"/>, for the join bounded to <paramref name="limits"/>: <c>this.Join(delta)</c>
    /// is <c>this.Join(other).WithAttributesBoundedTo(limits.MaxAttributes)</c>. <paramref name="attributesDropped"/>
    /// counts the attribute keys of both that the bound leaves out.
    /// </summary>
    public ProfileContent Delta(ProfileContent other, ProfileLimits limits, out int attributesDropped) =>
        Delta(other, limits, out attributesDropped, out _);

    /// <summary>As <see cref="Delta(ProfileContent, ProfileLimits, out int)"/>, also giving the bounded join it was taken
    /// from (<c>this.Join(delta)</c>), so a caller that goes on from it need not join again.</summary>
    public ProfileContent Delta(ProfileContent other, ProfileLimits limits, out int attributesDropped, out ProfileContent joined)
    {
        ArgumentNullException.ThrowIfNull(other);
        ArgumentNullException.ThrowIfNull(limits);
        joined = Join(other).WithAttributesBoundedTo(limits.MaxAttributes);
        // The keys of both less the keys kept (the join keeps no other); counted from the other's keys, not the profile's.
        attributesDropped = Attributes.Count + other.Attributes.Keys.Count(k => !Attributes.ContainsKey(k)) - joined.Attributes.Count;
        return DeltaTo(joined, other);
    }

    /// <remarks>
    /// Only the keys of <paramref name="other"/> can hold a new or changed entry: a join changes no other key, and the
    /// bounds (evidence, attribute horizon) only remove entries, which a delta does not carry. Looking at those keys
    /// alone keeps the cost of a delta proportional to the observation, not to the profile: scanning the whole joined
    /// profile made every observation of a large, often-seen profile cost more as it grew (measured: a million-observation
    /// import spent 1.9 % of its CPU here early and 7.1 % late). The same holds for merged-from ids: the new ones are
    /// those of <paramref name="other"/> not held yet.
    /// </remarks>
    private ProfileContent DeltaTo(ProfileContent joined, ProfileContent other) =>
        new()
        {
            Identifiers = Changed(Identifiers, joined.Identifiers, other.Identifiers.Keys, ImmutableSortedDictionary<IdentifierKey, IdentifierRecord>.Empty),
            Evidence = Changed(Evidence, joined.Evidence, other.Evidence.Keys, ImmutableSortedDictionary<LinkedKeys, LinkEvidence>.Empty),
            Consents = Changed(Consents, joined.Consents, other.Consents.Keys, NoConsents),
            Attributes = Changed(Attributes, joined.Attributes, other.Attributes.Keys, NoAttributes),
            MergedProfileIds = [.. other.MergedProfileIds.Where(id => !MergedProfileIds.Contains(id))],
            CreatedAt = joined.CreatedAt == CreatedAt ? null : joined.CreatedAt,
            UpdatedAt = joined.UpdatedAt == UpdatedAt ? null : joined.UpdatedAt,
            AttributeHorizon = joined.AttributeHorizon == AttributeHorizon ? null : joined.AttributeHorizon,
        };

    /// <summary>Same content with these profile ids recorded as merged in.</summary>
    public ProfileContent WithMergedProfileIds(IEnumerable<ProfileId> ids) => this with { MergedProfileIds = MergedProfileIds.Union(ids) };

    /// <summary>Structural equality (the collections compare by their entries).</summary>
    public bool Equals(ProfileContent? other) =>
        other is not null
        && Identifiers.Count == other.Identifiers.Count && Identifiers.All(p => other.Identifiers.TryGetValue(p.Key, out var o) && o.Equals(p.Value))
        && Evidence.Count == other.Evidence.Count && Evidence.All(p => other.Evidence.TryGetValue(p.Key, out var o) && o.Equals(p.Value))
        && Consents.Count == other.Consents.Count && Consents.All(p => other.Consents.TryGetValue(p.Key, out var o) && o.Equals(p.Value))
        && Attributes.Count == other.Attributes.Count && Attributes.All(p => other.Attributes.TryGetValue(p.Key, out var o) && o.Equals(p.Value))
        && MergedProfileIds.SetEquals(other.MergedProfileIds)
        && CreatedAt == other.CreatedAt && UpdatedAt == other.UpdatedAt && AttributeHorizon == other.AttributeHorizon;

    public override int GetHashCode() => HashCode.Combine(Identifiers.Count, Evidence.Count, Consents.Count, Attributes.Count, MergedProfileIds.Count, CreatedAt, UpdatedAt);

    private static ImmutableSortedDictionary<TKey, TValue> JoinMaps<TKey, TValue>(
        ImmutableSortedDictionary<TKey, TValue> a, ImmutableSortedDictionary<TKey, TValue> b, Func<TValue, TValue, TValue> join)
        where TKey : notnull
    {
        // Most joins add to one or two of the maps: the others are kept as they are.
        if (b.IsEmpty)
        {
            return a;
        }

        if (a.IsEmpty)
        {
            return b;
        }

        if (b.Count > a.Count)
        {
            (a, b) = (b, a);
            var inner = join;
            join = (x, y) => inner(y, x);
        }

        var builder = a.ToBuilder();
        foreach (var (key, value) in b)
        {
            builder[key] = builder.TryGetValue(key, out var existing) ? join(existing, value) : value;
        }

        return builder.ToImmutable();
    }

    /// <summary>The entries of <paramref name="after"/> under <paramref name="keys"/> that are new or differ from
    /// <paramref name="before"/>; <paramref name="empty"/> (the map's shared empty instance) when none.</summary>
    private static ImmutableSortedDictionary<TKey, TValue> Changed<TKey, TValue>(
        ImmutableSortedDictionary<TKey, TValue> before, ImmutableSortedDictionary<TKey, TValue> after, IEnumerable<TKey> keys, ImmutableSortedDictionary<TKey, TValue> empty)
        where TKey : notnull
    {
        ImmutableSortedDictionary<TKey, TValue>.Builder? builder = null;
        foreach (var key in keys)
        {
            if (after.TryGetValue(key, out var value) &&
                (!before.TryGetValue(key, out var old) || !EqualityComparer<TValue>.Default.Equals(old, value)))
            {
                (builder ??= empty.ToBuilder())[key] = value;
            }
        }

        return builder?.ToImmutable() ?? empty;
    }

    private static ImmutableSortedDictionary<LinkedKeys, LinkEvidence> Bound(ImmutableSortedDictionary<LinkedKeys, LinkEvidence> evidence)
    {
        if (evidence.Count <= MaxEvidence)
        {
            return evidence;
        }

        // The common case, one new key set on a full profile: drop the one latest entry instead of sorting them all.
        if (evidence.Count == MaxEvidence + 1)
        {
            var latest = evidence.Values.Aggregate((a, b) => LinkEvidence.Compare(a, b) >= 0 ? a : b);
            return evidence.Remove(latest.KeySet);
        }

        var keep = evidence.Values.Order(Comparer<LinkEvidence>.Create(LinkEvidence.Compare)).Take(MaxEvidence).ToList();
        return keep.ToImmutableSortedDictionary(e => e.KeySet, e => e);
    }

    private static string? MinKey(string? a, string? b) => a is null ? b : b is null ? a : string.CompareOrdinal(a, b) <= 0 ? a : b;

    private static ImmutableSortedDictionary<string, AttributeRecord> BelowHorizon(ImmutableSortedDictionary<string, AttributeRecord> attributes, string? horizon)
    {
        if (horizon is null || attributes.IsEmpty || string.CompareOrdinal(attributes.Keys.Last(), horizon) <= 0)
        {
            return attributes;
        }

        return attributes.RemoveRange(attributes.Keys.Where(k => string.CompareOrdinal(k, horizon) > 0).ToList());
    }

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a <= b ? a : b;

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a >= b ? a : b;
}
