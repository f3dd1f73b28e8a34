using PhoneNumbers;

namespace IdentityGraph.Core.Identifiers;

/// <summary>
/// Phone numbers to E.164 with libphonenumber. Only full-length numbers are identities: a local number without
/// area code or a short code is rejected. Deliberately no check that the range is assigned: metadata lags real
/// allocations (new ranges would be refused) and an unassigned but well-formed number still identifies consistently.
/// </summary>
public static class PhoneNormalizer
{
    private const string UnknownRegion = "ZZ";
    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();
    private static readonly HashSet<string> Regions = new(Util.GetSupportedRegions(), StringComparer.Ordinal);

    /// <summary>True when <paramref name="region"/> is an ISO 3166 alpha-2 code libphonenumber knows (case-insensitive).</summary>
    public static bool IsKnownRegion(string? region) =>
        !string.IsNullOrWhiteSpace(region) && Regions.Contains(region.Trim().ToUpperInvariant());

    /// <param name="raw">The number as written: "+45 12 34 56 78", "0045 12345678", "12 34 56 78".</param>
    /// <param name="defaultRegion">Region for numbers written without a country code, or null.</param>
    public static Normalization Normalize(string? raw, string? defaultRegion)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            return Normalization.Fail(IdentifierErrorCodes.Empty, "The phone number is empty.");
        }

        string? region = null;
        // "ZZ" is libphonenumber's (and CLDR's) "unknown region": the same as none.
        if (!string.IsNullOrWhiteSpace(defaultRegion) && !defaultRegion.Trim().Equals(UnknownRegion, StringComparison.OrdinalIgnoreCase))
        {
            region = defaultRegion.Trim().ToUpperInvariant();
            if (!Regions.Contains(region))
            {
                return Normalization.Fail(
                    IdentifierErrorCodes.PhoneRegionInvalid,
                    "The default region is not a known ISO 3166 alpha-2 region code.");
            }
        }

        PhoneNumber number;
        try
        {
            // Without a region, libphonenumber needs a leading '+' (or the region's international prefix).
            number = Util.Parse(raw.Trim(), region ?? UnknownRegion);
        }
        catch (NumberParseException e)
        {
            return e.ErrorType switch
            {
                ErrorType.INVALID_COUNTRY_CODE when region is null => Normalization.Fail(
                    IdentifierErrorCodes.PhoneMissingCountryCode,
                    "The phone number has no country code and no default region was given."),
                ErrorType.TOO_SHORT_NSN or ErrorType.TOO_SHORT_AFTER_IDD => Normalization.Fail(
                    IdentifierErrorCodes.PhoneNotFullLength, "The phone number is too short to be a full number."),
                ErrorType.TOO_LONG => Normalization.Fail(IdentifierErrorCodes.PhoneTooLong, "The phone number is too long."),
                _ => Normalization.Fail(IdentifierErrorCodes.PhoneInvalid, "The value is not a phone number."),
            };
        }

        switch (Util.IsPossibleNumberWithReason(number))
        {
            case PhoneNumberUtil.ValidationResult.IS_POSSIBLE:
                break;
            case PhoneNumberUtil.ValidationResult.TOO_SHORT:
            case PhoneNumberUtil.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
                return Normalization.Fail(
                    IdentifierErrorCodes.PhoneNotFullLength, "The phone number is too short to be a full number in its region.");
            case PhoneNumberUtil.ValidationResult.TOO_LONG:
                return Normalization.Fail(IdentifierErrorCodes.PhoneTooLong, "The phone number is too long for its region.");
            case PhoneNumberUtil.ValidationResult.INVALID_COUNTRY_CODE:
                return Normalization.Fail(IdentifierErrorCodes.PhoneInvalid, "The phone number has an unknown country code.");
            default:
                return Normalization.Fail(IdentifierErrorCodes.PhoneInvalidLength, "The phone number has no valid length for its region.");
        }

        return Normalization.Ok(Util.Format(number, PhoneNumberFormat.E164));
    }
}
