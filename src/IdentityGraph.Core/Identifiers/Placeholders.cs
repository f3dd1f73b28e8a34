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

        var local = address[..at];
        var plus = local.IndexOf('+', StringComparison.Ordinal);
        return EmailLocalParts.Contains(plus > 0 ? local[..plus] : local);
    }

    // E.164 ("+4511111111"): the subscriber part after a 1-3 digit country code is one digit repeated.
    private static bool IsPlaceholderPhone(string e164)
    {
        var digits = e164.TrimStart('+');
        for (var countryCodeLength = 1; countryCodeLength <= 3 && countryCodeLength < digits.Length - 5; countryCodeLength++)
        {
            var subscriber = digits.AsSpan(countryCodeLength);
            if (subscriber.Length >= 6 && !subscriber.ContainsAnyExcept(subscriber[0]))
            {
                return true;
            }
        }

        return false;
    }
}
