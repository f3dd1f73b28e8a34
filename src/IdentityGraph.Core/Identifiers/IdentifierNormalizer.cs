using IdentityGraph.Contracts.V1;

namespace IdentityGraph.Core.Identifiers;

/// <summary>How identifiers are normalised; the same on every node (a change re-keys new data only).</summary>
public sealed record NormalizationOptions
{
    /// <summary>Region (ISO 3166 alpha-2) for phone numbers without a country code, when the source has none of its own.</summary>
    public string? DefaultPhoneRegion { get; init; }

    /// <summary>Per-source default phone region, by <c>Observation.source</c> (exact match); overrides <see cref="DefaultPhoneRegion"/>.</summary>
    public IReadOnlyDictionary<string, string> PhoneRegionBySource { get; init; } = new Dictionary<string, string>();

    /// <summary>Fold provider-specific e-mail aliases (Gmail dots, +tags). Off by default: it links addresses the owner may keep apart.</summary>
    public bool FoldEmailProviderAliases { get; init; }

    /// <summary>
    /// Refuse placeholder values people type when they have none (<c>noreply@…</c>, <c>unknown@…</c>, a phone of one
    /// repeated digit): they would link every customer they were typed for into one profile. On by default.
    /// </summary>
    public bool RejectPlaceholders { get; init; } = true;

    public static NormalizationOptions Default { get; } = new();
}

/// <summary>The outcome of normalising one identifier.</summary>
public readonly record struct IdentifierNormalization(NormalizedIdentifier? Identifier, ValidationError? Error)
{
    public bool IsValid => Error is null;
}

/// <summary>
/// Normalises raw identifiers of every type into canonical form, per the README's normalisation rules. Never throws for bad
/// input: an unusable identifier is an <see cref="ValidationError"/> with a stable code.
/// </summary>
public sealed class IdentifierNormalizer(NormalizationOptions options)
{
    /// <summary>Longest raw value looked at; anything longer is refused before parsing (bounded work per identifier).</summary>
    public const int MaxRawLength = 1024;

    /// <summary>Longest namespace.</summary>
    public const int MaxNamespaceLength = 128;

    public NormalizationOptions Options { get; } = options;

    /// <param name="type">The identifier type.</param>
    /// <param name="value">The raw value.</param>
    /// <param name="ns">The namespace; ignored for e-mail and phone, which are globally unique.</param>
    /// <param name="phoneRegion">Default region for this phone number; falls back to <see cref="NormalizationOptions.DefaultPhoneRegion"/>.</param>
    public IdentifierNormalization Normalize(IdentifierType type, string? value, string? ns = null, string? phoneRegion = null)
    {
        if (!IdentifierTypes.All.Contains(type))
        {
            return Fail(IdentifierErrorCodes.TypeUnspecified, "The identifier has no known type.");
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            return Fail(IdentifierErrorCodes.Empty, "The identifier value is empty.");
        }

        if (value.Length > MaxRawLength)
        {
            return Fail(IdentifierErrorCodes.TooLong, $"The identifier value is longer than {MaxRawLength} characters.");
        }

        // E-mail addresses and phone numbers are global: a namespace would only keep equal values apart.
        var scope = type is IdentifierType.Email or IdentifierType.Phone ? "" : (ns ?? "").Trim();
        if (scope.Length > MaxNamespaceLength || scope.Any(char.IsControl))
        {
            return Fail(
                IdentifierErrorCodes.NamespaceInvalid,
                $"The namespace must be at most {MaxNamespaceLength} characters without control characters.");
        }

        var result = type switch
        {
            IdentifierType.Email => EmailNormalizer.Normalize(value, Options.FoldEmailProviderAliases),
            IdentifierType.Phone => PhoneNormalizer.Normalize(value, string.IsNullOrWhiteSpace(phoneRegion) ? Options.DefaultPhoneRegion : phoneRegion),
            IdentifierType.MembershipCard => OpaqueIdentifierNormalizer.MembershipCard(value),
            IdentifierType.PaymentToken => OpaqueIdentifierNormalizer.PaymentToken(value),
            IdentifierType.CustomerId => OpaqueIdentifierNormalizer.CustomerId(value),
            _ => OpaqueIdentifierNormalizer.DeviceId(value),
        };

        if (!result.IsValid)
        {
            return new IdentifierNormalization(null, result.Error);
        }

        if (Options.RejectPlaceholders && Placeholders.IsPlaceholder(type, result.Value!))
        {
            return Fail(IdentifierErrorCodes.Placeholder, "The value is a placeholder (such as noreply@… or a phone of one repeated digit), not a customer's own.");
        }

        return new IdentifierNormalization(new NormalizedIdentifier(type, scope, result.Value!), null);
    }

    /// <summary>The phone region for an observation from <paramref name="source"/>.</summary>
    public string? PhoneRegionFor(string? source) =>
        source is not null && Options.PhoneRegionBySource.TryGetValue(source, out var region) ? region : Options.DefaultPhoneRegion;

    private static IdentifierNormalization Fail(string code, string message) => new(null, new ValidationError(code, message));
}
