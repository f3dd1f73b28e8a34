namespace IdentityGraph.Core.Identifiers;

/// <summary>
/// Stable error codes for identifiers other than e-mail (see <c>EmailErrorCodes</c>). They appear in the
/// normalize CLI, dead-letter headers, reject files and metric labels; never rename one. Listed in docs/error-codes.md.
/// </summary>
public static class IdentifierErrorCodes
{
    /// <summary>The identifier has no type, or a type this version does not know.</summary>
    /// <summary>A placeholder value (noreply@…, unknown@…, a phone of one repeated digit) that would link unrelated customers.</summary>
    public const string Placeholder = "identifier.placeholder";

    public const string TypeUnspecified = "identifier.type_unspecified";

    /// <summary>The value is missing or only white space.</summary>
    public const string Empty = "identifier.empty";

    /// <summary>The raw value exceeds <see cref="IdentifierNormalizer.MaxRawLength"/> characters.</summary>
    public const string TooLong = "identifier.too_long";

    /// <summary>The value contains control characters or white space where none is allowed.</summary>
    public const string InvalidCharacters = "identifier.invalid_characters";

    /// <summary>The namespace is too long or contains control characters.</summary>
    public const string NamespaceInvalid = "identifier.namespace_invalid";

    /// <summary>Not a telephone number at all (no digits, letters only, unknown country code).</summary>
    public const string PhoneInvalid = "phone.invalid";

    /// <summary>Written without a country code, and no default region was given or configured.</summary>
    public const string PhoneMissingCountryCode = "phone.missing_country_code";

    /// <summary>Too short to be a full number in its region (e.g. a 7-digit local number): not an identity.</summary>
    public const string PhoneNotFullLength = "phone.not_full_length";

    /// <summary>Too long for any number in its region.</summary>
    public const string PhoneTooLong = "phone.too_long";

    /// <summary>Between the shortest and longest numbers of its region, but no number there has this length.</summary>
    public const string PhoneInvalidLength = "phone.invalid_length";

    /// <summary>The default region is not an ISO 3166 alpha-2 code libphonenumber knows.</summary>
    public const string PhoneRegionInvalid = "phone.region_invalid";

    /// <summary>A membership card number with characters other than letters and digits (after removing spaces and dashes).</summary>
    public const string MembershipCardInvalid = "membership_card.invalid";

    /// <summary>
    /// A payment token that is a raw card number (13–19 digits, Luhn-valid). Rejected and never stored:
    /// PANs must not enter the graph (PCI DSS).
    /// </summary>
    public const string PaymentTokenRawPan = "payment_token.raw_pan";

    /// <summary>A payment token with white space or non-printable characters inside.</summary>
    public const string PaymentTokenInvalid = "payment_token.invalid";

    /// <summary>The all-zero device id (tracking opted out): shared by millions of devices, never an identity.</summary>
    public const string DeviceIdZeroed = "device_id.zeroed";
}
