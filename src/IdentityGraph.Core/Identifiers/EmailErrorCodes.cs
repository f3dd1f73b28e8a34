namespace IdentityGraph.Core.Identifiers;

/// <summary>
/// Stable error codes for e-mail addresses (see <see cref="EmailNormalizer"/>). Like <see cref="IdentifierErrorCodes"/>
/// they appear in the normalize CLI, dead-letter headers, reject files and metric labels; never rename one.
/// Listed in docs/error-codes.md.
/// </summary>
public static class EmailErrorCodes
{
    /// <summary>Nothing is left after trimming and stripping <c>mailto:</c> and the display name.</summary>
    public const string Empty = "email.empty";

    /// <summary>
    /// Not an address in general: control characters or malformed Unicode anywhere, broken percent-encoding in a
    /// <c>mailto:</c> URI, or angle brackets that do not enclose an address.
    /// </summary>
    public const string Invalid = "email.invalid";

    /// <summary>There is no <c>@</c>.</summary>
    public const string MissingAt = "email.missing_at";

    /// <summary>The part before the <c>@</c> is empty or not a dot-atom (RFC 5322 atext, or UTF-8 per RFC 6531).</summary>
    public const string LocalPartInvalid = "email.local_part_invalid";

    /// <summary>The part before the <c>@</c> is longer than 64 octets (UTF-8) after normalisation (RFC 5321 §4.5.3.1.1).</summary>
    public const string LocalPartTooLong = "email.local_part_too_long";

    /// <summary>
    /// The domain is not a DNS host name with at least two labels: each label 1–63 letters, digits or hyphens
    /// (after IDNA conversion), not starting or ending with a hyphen, and a top-level label that is not all digits.
    /// </summary>
    public const string DomainInvalid = "email.domain_invalid";

    /// <summary>
    /// The normalised address is longer than 254 octets (RFC 5321 path limit less the angle brackets), or the raw
    /// value is longer than <see cref="IdentifierNormalizer.MaxRawLength"/> characters (bounded work per value).
    /// </summary>
    public const string TooLong = "email.too_long";

    /// <summary>
    /// RFC-valid, but refused on purpose as a customer identity: quoted local parts, comments and IP-literal
    /// domains. Such addresses are test data or abuse far more often than a customer's real mailbox, and each
    /// has several spellings for the same mailbox.
    /// </summary>
    public const string UnsupportedForm = "email.unsupported_form";
}
