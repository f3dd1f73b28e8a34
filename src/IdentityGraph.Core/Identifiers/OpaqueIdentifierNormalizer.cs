namespace IdentityGraph.Core.Identifiers;

/// <summary>Normalisation of the issuer-scoped identifiers: membership cards, payment tokens, customer and device ids.</summary>
public static class OpaqueIdentifierNormalizer
{
    /// <summary>Longest normalised opaque value; longer raw values are rejected before this by the raw-length limit.</summary>
    public const int MaxLength = 256;

    /// <summary>Spaces and dashes removed (they are how cards are printed, not part of the number), upper-cased.</summary>
    public static Normalization MembershipCard(string value)
    {
        var chars = new char[value.Length];
        var length = 0;
        foreach (var c in value)
        {
            if (char.IsWhiteSpace(c) || IsDash(c))
            {
                continue;
            }

            if (!char.IsAsciiLetterOrDigit(c))
            {
                return Normalization.Fail(
                    IdentifierErrorCodes.MembershipCardInvalid,
                    "A membership card number may only contain letters and digits (spaces and dashes are ignored).");
            }

            chars[length++] = char.ToUpperInvariant(c);
        }

        return length == 0
            ? Normalization.Fail(IdentifierErrorCodes.Empty, "The membership card number is empty.")
            : Normalization.Ok(new string(chars, 0, length));
    }

    /// <summary>
    /// Opaque and case-sensitive, trimmed. A raw card number (PAN) is refused whatever its spacing:
    /// it is a payment card, not a token, and must never be stored.
    /// </summary>
    public static Normalization PaymentToken(string value)
    {
        var trimmed = value.Trim();
        if (Luhn.LooksLikePan(trimmed))
        {
            return Normalization.Fail(
                IdentifierErrorCodes.PaymentTokenRawPan,
                "The payment token is a raw card number (PAN); send the token from your payment provider instead.");
        }

        return HasOnlyPrintableNonSpace(trimmed)
            ? Normalization.Ok(trimmed)
            : Normalization.Fail(
                IdentifierErrorCodes.PaymentTokenInvalid, "A payment token may not contain white space or control characters.");
    }

    /// <summary>Opaque and case-sensitive, trimmed; inner spaces are kept (some systems use them) but control characters are not.</summary>
    public static Normalization CustomerId(string value)
    {
        var trimmed = value.Trim();
        return trimmed.Any(char.IsControl)
            ? Normalization.Fail(IdentifierErrorCodes.InvalidCharacters, "A customer id may not contain control characters.")
            : Normalization.Ok(trimmed);
    }

    /// <summary>
    /// UUID-shaped ids (IDFA, GAID, app instance ids) are case-insensitive by nature and written lower-case with
    /// dashes; anything else is opaque. The all-zero UUID is what a device reports when tracking is off.
    /// </summary>
    public static Normalization DeviceId(string value)
    {
        var trimmed = value.Trim();
        if (Guid.TryParseExact(trimmed, "D", out var guid) || Guid.TryParseExact(trimmed, "N", out guid))
        {
            return guid == Guid.Empty
                ? Normalization.Fail(IdentifierErrorCodes.DeviceIdZeroed, "The all-zero device id is shared by opted-out devices.")
                : Normalization.Ok(guid.ToString("D"));
        }

        return HasOnlyPrintableNonSpace(trimmed)
            ? Normalization.Ok(trimmed)
            : Normalization.Fail(IdentifierErrorCodes.InvalidCharacters, "A device id may not contain white space or control characters.");
    }

    private static bool IsDash(char c) => c is '-' or '\u2010' or '\u2011' or '\u2012' or '\u2013' or '\u2014' or '\u2212';

    private static bool HasOnlyPrintableNonSpace(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c))
            {
                return false;
            }
        }

        return true;
    }
}
