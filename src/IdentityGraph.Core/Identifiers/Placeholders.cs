using System.Collections.Frozen;
using IdentityGraph.Contracts.V1;

namespace IdentityGraph.Core.Identifiers;

/// <summary>
/// Values people type into a form or till when the customer has none: shared by thousands of unrelated customers, so
/// linking on them would merge everyone. A deliberately short list of unambiguous cases; anything subtler (a shared
/// family phone) needs evidence, not a pattern.
/// </summary>
public static class Placeholders
{
    private static readonly FrozenSet<string> EmailLocalParts = new[]
    {
        "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply",
        "noemail", "no-email", "no_email", "nomail", "no-mail", "unknown", "none", "invalid",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> EmailLocalPartSpans =
        EmailLocalParts.GetAlternateLookup<ReadOnlySpan<char>>();

    // A placeholder's national number is at least this many repetitions of one digit.
    private const int MinRepeatedDigits = 6;

    private static readonly PhoneNumbers.PhoneNumberUtil PhoneUtil = PhoneNumbers.PhoneNumberUtil.GetInstance();

    /// <summary>True when the normalised <paramref name="value"/> of <paramref name="type"/> is a known placeholder.</summary>
    public static bool IsPlaceholder(IdentifierType type, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return type switch
        {
            IdentifierType.Email => IsPlaceholderEmail(value),
            IdentifierType.Phone => IsPlaceholderPhone(value),
            _ => false,
        };
    }

    // Normalised addresses are lower case; a +tag does not make noreply+shop@ any less of a placeholder.
    private static bool IsPlaceholderEmail(string address)
    {
        var at = address.LastIndexOf('@');
        if (at <= 0)
        {
            return false;
        }

        var local = address.AsSpan(0, at);
        var plus = local.IndexOf('+');
        return EmailLocalPartSpans.Contains(plus > 0 ? local[..plus] : local);
    }

    // E.164 ("+4511111111"): the national number after the country code is one digit repeated. The country code comes
    // from libphonenumber: guessing its length would read "+45 30 00 00 00" as country 453 and subscriber 0000000.
    private static bool IsPlaceholderPhone(string e164)
    {
        // The national number ends the E.164 text, so a placeholder's text ends in that many equal digits: real numbers
        // fail here, without parsing the number a second time (most of what normalising a phone cost).
        if (e164.Length < MinRepeatedDigits || !char.IsAsciiDigit(e164[^1])
            || e164.AsSpan(e164.Length - MinRepeatedDigits).ContainsAnyExcept(e164[^1]))
        {
            return false;
        }

        PhoneNumbers.PhoneNumber number;
        try
        {
            number = PhoneUtil.Parse(e164, "ZZ");
        }
        catch (PhoneNumbers.NumberParseException)
        {
            return false;
        }

        var national = PhoneUtil.GetNationalSignificantNumber(number);
        return national.Length >= MinRepeatedDigits && !national.AsSpan().ContainsAnyExcept(national[0]);
    }
}
