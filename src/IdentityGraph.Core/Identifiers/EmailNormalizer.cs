using System.Buffers;
using System.Globalization;
using System.Text;

namespace IdentityGraph.Core.Identifiers;

/// <summary>
/// E-mail addresses to one canonical spelling per mailbox, per the README's normalisation rules: trimmed, <c>mailto:</c> and
/// display name stripped, lower-cased as a whole, the domain in ASCII (IDNA), the local part a dot-atom in NFC.
/// Accepts what customers type and channel systems export; refuses RFC-valid forms that are never a customer's
/// identity (quoted local parts, comments, IP literals) and dotless domains. Total: never throws.
/// </summary>
public static class EmailNormalizer
{
    /// <summary>Longest local part in octets (RFC 5321 §4.5.3.1.1).</summary>
    public const int MaxLocalPartOctets = 64;

    /// <summary>Longest address in octets (RFC 5321 §4.5.3.1.3: a 256-octet path less its angle brackets).</summary>
    public const int MaxAddressOctets = 254;

    private const int MaxLabelLength = 63;
    private const string MailtoScheme = "mailto:";

    // Sub-addressing providers where "user+tag" is delivered to "user" (documented by each provider). Yahoo is
    // deliberately absent: its disposable addresses use '-', and '-' is common in real local parts.
    private static readonly HashSet<string> PlusTagProviders = new(StringComparer.Ordinal)
    {
        "gmail.com", "outlook.com", "hotmail.com", "live.com", "icloud.com", "me.com",
        "fastmail.com", "proton.me", "protonmail.com",
    };

    /// <param name="raw">The address as received: <c>" Jane &lt;Jane@Example.COM&gt;"</c>, <c>"mailto:jane@example.com"</c>.</param>
    /// <param name="foldProviderAliases">
    /// Also fold provider aliases: Gmail ignores dots and <c>+tags</c> (and googlemail.com is gmail.com); the
    /// providers in <see cref="PlusTagProviders"/> ignore <c>+tags</c>. Off by default: it links addresses the owner
    /// may deliberately keep apart.
    /// </param>
    public static Normalization Normalize(string? raw, bool foldProviderAliases = false)
    {
        if (raw is null || raw.Length == 0)
        {
            return Normalization.Fail(EmailErrorCodes.Empty, "The e-mail address is empty.");
        }

        if (raw.Length > IdentifierNormalizer.MaxRawLength)
        {
            return Normalization.Fail(
                EmailErrorCodes.TooLong, $"The e-mail value is longer than {IdentifierNormalizer.MaxRawLength} characters.");
        }

        // Control characters other than edge tabs are rejected, not trimmed: CR/LF in particular mean header
        // injection or a broken export, and RFC 5322 folding white space never belongs inside a stored address.
        var address = TrimInvisible(raw);
        if (!HasOnlyWellFormedNonControlText(address))
        {
            return Normalization.Fail(
                EmailErrorCodes.Invalid, "The e-mail address contains control characters or malformed Unicode.");
        }

        if (address.EndsWith('>'))
        {
            // "Jane Doe" <jane@x.dk> or Jane <jane@x.dk>: the address is in the last angle brackets (a dot-atom
            // cannot contain '<', so the last '<' opens it whatever the display name holds).
            var open = address.LastIndexOf('<');
            if (open < 0)
            {
                return Normalization.Fail(EmailErrorCodes.Invalid, "The e-mail address has a '>' without a matching '<'.");
            }

            address = TrimInvisible(address[(open + 1)..^1]);
        }

        if (address.StartsWith(MailtoScheme, StringComparison.OrdinalIgnoreCase))
        {
            // RFC 6068: "?" starts the header fields, and the address itself is percent-encoded.
            var uri = address[MailtoScheme.Length..];
            var query = uri.IndexOf('?', StringComparison.Ordinal);
            var decoded = PercentDecode(query < 0 ? uri : uri[..query]);
            if (decoded is null || !HasOnlyWellFormedNonControlText(decoded))
            {
                return Normalization.Fail(EmailErrorCodes.Invalid, "The mailto: URI is not correctly percent-encoded.");
            }

            address = decoded;
        }

        if (address.Length == 0)
        {
            return Normalization.Fail(EmailErrorCodes.Empty, "The e-mail address is empty.");
        }

        // The last '@' separates the domain; a quoted local part may contain '@' but is refused anyway.
        var at = address.LastIndexOf('@');
        if (at < 0)
        {
            return Normalization.Fail(EmailErrorCodes.MissingAt, "The e-mail address has no '@'.");
        }

        var local = NormalizeLocalPart(address[..at]);
        if (!local.IsValid)
        {
            return local;
        }

        var domain = NormalizeDomain(address[(at + 1)..]);
        if (!domain.IsValid)
        {
            return domain;
        }

        var (localPart, domainName) = foldProviderAliases
            ? FoldProviderAlias(local.Value!, domain.Value!)
            : (local.Value!, domain.Value!);

        var normalized = localPart + "@" + domainName;
        return Encoding.UTF8.GetByteCount(normalized) > MaxAddressOctets
            ? Normalization.Fail(EmailErrorCodes.TooLong, $"The e-mail address is longer than {MaxAddressOctets} octets.")
            : Normalization.Ok(normalized);
    }

    private static Normalization NormalizeLocalPart(string local)
    {
        if (local.Length == 0)
        {
            return Normalization.Fail(EmailErrorCodes.LocalPartInvalid, "The part before '@' is empty.");
        }

        if (local.Length >= 2 && local[0] == '"' && local[^1] == '"')
        {
            return Normalization.Fail(EmailErrorCodes.UnsupportedForm, "Quoted local parts (\"...\"@) are not accepted.");
        }

        if (local[0] == '(' || local[^1] == ')')
        {
            return Normalization.Fail(EmailErrorCodes.UnsupportedForm, "Comments in e-mail addresses are not accepted.");
        }

        if (!IsDotAtom(local, IsLocalPartCharacter))
        {
            return Normalization.Fail(
                EmailErrorCodes.LocalPartInvalid,
                "The part before '@' must be dot-separated letters, digits and !#$%&'*+-/=?^_`{|}~ " +
                "(no leading, trailing or double dots).");
        }

        // Lower-casing can leave a string that is not in NFC (and NFC can expose new case pairs), so normalise on
        // both sides: the result is then a fixed point, which keeps normalisation idempotent.
        var normalized = local.ToLowerInvariant();
        if (!Ascii.IsValid(normalized))
        {
            normalized = normalized.Normalize(NormalizationForm.FormC).ToLowerInvariant().Normalize(NormalizationForm.FormC);
        }

        return Encoding.UTF8.GetByteCount(normalized) > MaxLocalPartOctets
            ? Normalization.Fail(
                EmailErrorCodes.LocalPartTooLong, $"The part before '@' is longer than {MaxLocalPartOctets} octets.")
            : Normalization.Ok(normalized);
    }

    private static Normalization NormalizeDomain(string domain)
    {
        if (domain.Length >= 2 && domain[0] == '[' && domain[^1] == ']')
        {
            return Normalization.Fail(EmailErrorCodes.UnsupportedForm, "IP-literal domains (@[...]) are not accepted.");
        }

        if (domain.Length > 0 && (domain[0] == '(' || domain[^1] == ')'))
        {
            return Normalization.Fail(EmailErrorCodes.UnsupportedForm, "Comments in e-mail addresses are not accepted.");
        }

        // "example.com." is the root-anchored spelling of "example.com": the same host in DNS.
        if (domain.EndsWith('.'))
        {
            domain = domain[..^1];
        }

        if (domain.Length == 0 || !IsDotAtom(domain, static _ => true))
        {
            return DomainInvalid();
        }

        string ascii;
        try
        {
            // UTS #46 processing: maps case and compatibility forms, converts U-labels to punycode, validates A-labels
            // and (with STD3 rules) refuses anything outside letters, digits and hyphens. A new instance per call:
            // instance members are not documented as thread-safe, and this one costs two booleans.
            ascii = new IdnMapping { UseStd3AsciiRules = true }.GetAscii(domain).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return DomainInvalid();
        }

        // IdnMapping does not enforce what makes a name a deliverable host here: re-check the result label by label.
        var labels = ascii.Split('.');
        if (labels.Length < 2 || !labels.All(IsHostLabel) || !labels[^1].AsSpan().ContainsAnyExceptInRange('0', '9'))
        {
            return DomainInvalid();
        }

        return Normalization.Ok(ascii);
    }

    private static (string Local, string Domain) FoldProviderAlias(string local, string domain)
    {
        if (domain == "googlemail.com")
        {
            domain = "gmail.com";
        }

        if (!PlusTagProviders.Contains(domain))
        {
            return (local, domain);
        }

        var plus = local.IndexOf('+', StringComparison.Ordinal);
        var folded = plus < 0 ? local : local[..plus];
        if (domain == "gmail.com")
        {
            // Gmail delivers "j.a.n.e" to "jane": dots are not part of the mailbox name.
            folded = folded.Replace(".", "", StringComparison.Ordinal);
        }

        // "+tag@gmail.com" has no mailbox left to fold to: keep it as written rather than invent one.
        return folded.Length == 0 ? (local, domain) : (folded, domain);
    }

    private static Normalization DomainInvalid() => Normalization.Fail(
        EmailErrorCodes.DomainInvalid,
        "The domain must be a host name with at least two dot-separated labels of letters, digits and hyphens, " +
        "each 1-63 characters without a leading or trailing hyphen, and a top-level label that is not all digits.");

    /// <summary>Non-empty atoms of allowed characters separated by single dots (RFC 5322 dot-atom shape).</summary>
    private static bool IsDotAtom(string value, Func<Rune, bool> isAllowed)
    {
        var atomLength = 0;
        foreach (var rune in value.EnumerateRunes())
        {
            if (rune.Value == '.')
            {
                if (atomLength == 0)
                {
                    return false;
                }

                atomLength = 0;
            }
            else if (isAllowed(rune))
            {
                atomLength++;
            }
            else
            {
                return false;
            }
        }

        return atomLength > 0;
    }

    /// <summary>RFC 5322 atext, plus visible assigned non-ASCII characters (RFC 6531 UTF8-non-ascii).</summary>
    private static bool IsLocalPartCharacter(Rune rune)
    {
        if (rune.IsAscii)
        {
            return char.IsAsciiLetterOrDigit((char)rune.Value) || "!#$%&'*+-/=?^_`{|}~".Contains((char)rune.Value, StringComparison.Ordinal);
        }

        // Spaces, invisible format characters, private-use and unassigned code points would make addresses that look
        // alike but differ, or whose NFC form could change with a later Unicode version.
        return Rune.GetUnicodeCategory(rune) is not (UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
            or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned);
    }

    private static bool IsHostLabel(string label) =>
        label.Length is > 0 and <= MaxLabelLength
        && label[0] != '-' && label[^1] != '-'
        && !label.AsSpan().ContainsAnyExcept(HostLabelCharacters);

    private static readonly System.Buffers.SearchValues<char> HostLabelCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");

    /// <summary>False for control characters (C0, DEL, C1) and unpaired surrogates.</summary>
    private static bool HasOnlyWellFormedNonControlText(string value)
    {
        for (var i = 0; i < value.Length;)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(i), out var rune, out var consumed) != OperationStatus.Done
                || Rune.IsControl(rune))
            {
                return false;
            }

            i += consumed;
        }

        return true;
    }

    /// <summary>
    /// Trims spaces (any Unicode space, e.g. no-break), tabs and the invisible characters that copy-paste and
    /// spreadsheets leave at the ends (BOM, zero-width space/joiners, word joiner). CR, LF and other controls stay,
    /// so that they are refused.
    /// </summary>
    private static string TrimInvisible(string value)
    {
        static bool IsInvisible(char c) =>
            c == '\t' || (char.IsWhiteSpace(c) && !char.IsControl(c)) || c is '\uFEFF' or '\u200B' or '\u200C' or '\u200D' or '\u2060';

        var start = 0;
        var end = value.Length;
        while (start < end && IsInvisible(value[start]))
        {
            start++;
        }

        while (end > start && IsInvisible(value[end - 1]))
        {
            end--;
        }

        return value[start..end];
    }

    /// <summary>Strict RFC 3986 percent-decoding of UTF-8; null when a '%' is not followed by two hex digits or the bytes are not UTF-8.</summary>
    private static string? PercentDecode(string value)
    {
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }

        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length;)
        {
            if (value[i] != '%')
            {
                var next = value.IndexOf('%', i);
                next = next < 0 ? value.Length : next;
                bytes.AddRange(Encoding.UTF8.GetBytes(value[i..next]));
                i = next;
            }
            else if (i + 2 < value.Length
                && byte.TryParse(value.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var octet))
            {
                bytes.Add(octet);
                i += 3;
            }
            else
            {
                return null;
            }
        }

        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString([.. bytes]);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
