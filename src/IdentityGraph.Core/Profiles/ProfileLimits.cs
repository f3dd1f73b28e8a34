using IdentityGraph.Core.Identifiers;

namespace IdentityGraph.Core.Profiles;

/// <summary>
/// Bounds on one profile, so that neither a hub identifier nor a flood of attributes can grow a profile (and the
/// events and snapshots that carry it) without end. Policy in docs/profile-merge-policy.md.
/// </summary>
public sealed record ProfileLimits
{
    /// <summary>The code of an observation refused because it would grow a profile beyond <see cref="MaxIdentifiers"/>.</summary>
    public const string IdentifierLimitCode = "profile.identifier_limit";

    /// <summary>The reason counted for an attribute a profile does not keep because of <see cref="MaxAttributes"/>.</summary>
    public const string AttributeLimitCode = "profile.attribute_limit";

    /// <summary>
    /// Identifiers one profile may hold. A soft limit, checked before an observation claims anything: observations that
    /// race can overshoot it by at most their own identifiers.
    /// </summary>
    public int MaxIdentifiers { get; init; } = 1_000;

    /// <summary>Attribute keys one profile keeps: the smallest keys (ordinal), whatever the order they arrived in.</summary>
    public int MaxAttributes { get; init; } = 256;

    public static ProfileLimits Default { get; } = new();

    /// <summary>
    /// Null when an observation may join profiles holding <paramref name="held"/> identifiers in all and add
    /// <paramref name="added"/> new ones; otherwise the refusal. An observation that neither adds an identifier nor
    /// joins two profiles is never refused, even on a profile that overshot the limit: it grows nothing.
    /// </summary>
    public ValidationError? CheckIdentifiers(int held, int added, int profiles)
    {
        if ((added == 0 && profiles <= 1) || held + added <= MaxIdentifiers)
        {
            return null;
        }

        return new ValidationError(
            IdentifierLimitCode,
            profiles > 1
                ? $"The observation would merge {profiles} profiles into one with {held + added} identifiers; at most {MaxIdentifiers} are kept in one profile."
                : $"The observation would give a profile {held + added} identifiers; at most {MaxIdentifiers} are kept in one profile.");
    }
}
