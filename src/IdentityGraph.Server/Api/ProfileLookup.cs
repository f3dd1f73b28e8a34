using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Server.Api;

/// <summary>Error codes of the lookup API (HTTP body <c>error.code</c>, gRPC trailer <c>identitygraph-error-code</c>).</summary>
public static class LookupErrorCodes
{
    /// <summary>The profile id is not a ULID.</summary>
    public const string ProfileIdInvalid = "profile_id.invalid";

    /// <summary>No profile has this id.</summary>
    public const string ProfileNotFound = "profile.not_found";

    /// <summary>The profile was erased on request; nothing about it is kept.</summary>
    public const string ProfileErased = "profile.erased";

    /// <summary>No profile holds this identifier.</summary>
    public const string IdentifierNotFound = "identifier.not_found";

    /// <summary>No or a wrong API key.</summary>
    public const string Unauthenticated = "api.unauthenticated";

    /// <summary>The graph did not answer in time.</summary>
    public const string Unavailable = "api.unavailable";
}

/// <summary>What a lookup found.</summary>
public enum LookupStatus
{
    Found,
    Invalid,
    NotFound,
    Erased,
}

/// <summary>A lookup's answer: the (surviving) profile, or why there is none.</summary>
/// <param name="RedirectedFrom">The asked-for id when it was merged away into <paramref name="Profile"/>.</param>
public sealed record LookupResult(LookupStatus Status, Profile? Profile, string? RedirectedFrom, ValidationError? Error)
{
    public static LookupResult Fail(LookupStatus status, string code, string message) => new(status, null, null, new ValidationError(code, message));
}

/// <summary>
/// The questions other systems ask the graph directly, shared by the HTTP and the gRPC API: the profile with an id
/// (following merges to the survivor) and the profile holding an identifier (normalised and keyed server-side exactly
/// as observations are, so a raw value written any way a channel writes it is found).
/// </summary>
public sealed class ProfileLookup(IdentityResolver resolver, IdentifierNormalizer normalizer, IdentifierKeyer keyer)
{
    public async Task<LookupResult> GetProfileAsync(string? profileId, CancellationToken cancellationToken)
    {
        if (!ProfileId.TryParse(profileId?.Trim(), out var id))
        {
            return LookupResult.Fail(LookupStatus.Invalid, LookupErrorCodes.ProfileIdInvalid, "The profile id is not a 26-character ULID.");
        }

        var live = await resolver.GetLiveProfileAsync(id.ToString(), cancellationToken);
        return live is null
            ? LookupResult.Fail(LookupStatus.NotFound, LookupErrorCodes.ProfileNotFound, "No profile has this id.")
            : Answer(live, live.Id == id ? null : id.ToString());
    }

    public async Task<LookupResult> LookupIdentifierAsync(string? type, string? value, string? ns, string? region, CancellationToken cancellationToken) =>
        IdentifierTypes.TryParse(type, out var parsed)
            ? await LookupIdentifierAsync(parsed, value, ns, region, cancellationToken)
            : LookupResult.Fail(LookupStatus.Invalid, IdentifierErrorCodes.TypeUnspecified,
                "Unknown identifier type: use EMAIL, PHONE, MEMBERSHIP_CARD, PAYMENT_TOKEN, CUSTOMER_ID or DEVICE_ID (or IDENTIFIER_TYPE_…).");

    public async Task<LookupResult> LookupIdentifierAsync(IdentifierType type, string? value, string? ns, string? region, CancellationToken cancellationToken)
    {
        var normalized = normalizer.Normalize(type, value, ns, string.IsNullOrWhiteSpace(region) ? null : region);
        if (!normalized.IsValid)
        {
            return new LookupResult(LookupStatus.Invalid, null, null, normalized.Error);
        }

        var owner = await resolver.GetProfileByKeyAsync(keyer.KeyOf(normalized.Identifier!), cancellationToken);
        return owner is null
            ? LookupResult.Fail(LookupStatus.NotFound, LookupErrorCodes.IdentifierNotFound, "No profile holds this identifier.")
            : Answer(owner, null);
    }

    private static LookupResult Answer(LiveProfile live, string? redirectedFrom) => live.State.Status == ProfileStatus.Erased
        ? LookupResult.Fail(LookupStatus.Erased, LookupErrorCodes.ProfileErased, "The profile was erased on request.")
        : new LookupResult(LookupStatus.Found, ProfileSnapshots.ToContract(live.Id, live.State), redirectedFrom, null);
}
