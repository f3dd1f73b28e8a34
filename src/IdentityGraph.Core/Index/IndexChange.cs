using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Core.Index;

/// <summary>
/// One decided change of one identifier's owner: what a slice's journal event carries and what replay applies.
/// <paramref name="Version"/> counts the changes of this identifier (1 for the claim), so replaying a change twice is
/// a no-op and a future move that is not towards a smaller id can be ordered (<see cref="IndexSlice"/>).
/// </summary>
public readonly record struct IndexChange(IdentifierKey Key, ProfileId Owner, long Version);

/// <summary>An identifier, its owner and the owner's version, as a slice snapshot holds it.</summary>
public readonly record struct IndexEntry(IdentifierKey Key, ProfileId Owner, long Version);

/// <summary>"Make <paramref name="Candidate"/> the owner of <paramref name="Key"/> unless someone owns it already."</summary>
public readonly record struct ClaimRequest(IdentifierKey Key, ProfileId Candidate);

/// <summary>
/// "<paramref name="From"/> was merged into <paramref name="To"/>: move <paramref name="Key"/> to it if it still names
/// <paramref name="From"/>." Path compression only: correctness never depends on it.
/// </summary>
public readonly record struct RepointRequest(IdentifierKey Key, ProfileId From, ProfileId To);

/// <summary>The answer to one claim or repoint.</summary>
/// <param name="Owner">The identifier's owner after the decision; null only for a repoint of an identifier no one holds.</param>
/// <param name="Pending">
/// The owner named is not durable yet (this decision's change, or an earlier change still being written): send the
/// answer only once the slice's writes so far are durable, so that no one hears of an owner a crash could take back.
/// </param>
/// <param name="Changed">
/// This request changed the owner (a claim that took an unowned identifier, a repoint that moved it); false when it
/// only learned the owner.
/// </param>
public readonly record struct IndexAnswer(IdentifierKey Key, ProfileId? Owner, bool Pending, bool Changed = false);

/// <summary>What a slice decided for a list of requests.</summary>
/// <param name="Answers">One answer per request, in request order.</param>
/// <param name="Changes">The changes to write, at most one per identifier, in order of first request; empty when nothing changes.</param>
public sealed record IndexDecision(IReadOnlyList<IndexAnswer> Answers, IReadOnlyList<IndexChange> Changes)
{
    /// <summary>Some answer names an owner that is not durable yet: answer after the slice's writes complete.</summary>
    public bool AwaitsDurability => Answers.Any(a => a.Pending);
}

/// <summary>What a slice can tell about an identifier right now.</summary>
/// <param name="Owner">The durable owner; null when no owner is durable.</param>
/// <param name="Version">The durable owner's version; 0 when there is none.</param>
/// <param name="HasPendingChange">A change of this identifier is decided but not durable yet; its owner may differ.</param>
public readonly record struct IndexLookup(ProfileId? Owner, long Version, bool HasPendingChange);
