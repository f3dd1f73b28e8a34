using System.Numerics;

namespace IdentityGraph.Core.Identifiers;

/// <summary>
/// Masks card-number-shaped digit runs in records we keep for people to read later (dead letters, import rejects):
/// 13–19 digits, optionally grouped by single spaces or dashes, that pass the Luhn check (<see cref="Luhn"/>). Every
/// digit but the last four becomes <c>*</c>, in place: the length in bytes and every other byte stay as they were, so
/// a protobuf value keeps its structure and a producer can still see which field was wrong.
/// </summary>
/// <remarks>
/// Works on bytes (UTF-8 or binary: an ASCII digit byte is never part of a multi-byte UTF-8 sequence) and on chars.
/// A longer run of groups ("4111 1111 1111 1111 2026") is searched group-aligned, so a card number next to another
/// number is still found; a single group of more than 19 digits is not card-shaped and stays.
/// </remarks>
public static class CardNumberRedaction
{
    private const int MinDigits = 13;
    private const int MaxDigits = 19;
    private const int KeptDigits = 4;

    /// <summary>Masks every card number in <paramref name="text"/> in place; returns how many were masked.</summary>
    public static int RedactInPlace(Span<byte> text) => RedactCore(text);

    /// <inheritdoc cref="RedactInPlace(Span{byte})"/>
    public static int RedactInPlace(Span<char> text) => RedactCore(text);

    /// <summary>A masked copy of <paramref name="value"/>, or the same array when it holds no card number.</summary>
    public static byte[]? Redact(byte[]? value)
    {
        if (value is null)
        {
            return null;
        }

        var copy = (byte[])value.Clone();
        return RedactInPlace(copy) == 0 ? value : copy;
    }

    /// <summary>A masked copy of <paramref name="value"/>, or the same string when it holds no card number.</summary>
    public static string Redact(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var copy = value.ToCharArray();
        return RedactInPlace(copy) == 0 ? value : new string(copy);
    }

    private static int RedactCore<T>(Span<T> text)
        where T : IBinaryInteger<T>
    {
        var redacted = 0;
        var groups = new List<(int Start, int End)>();
        var i = 0;
        while (i < text.Length)
        {
            if (!IsDigit(text[i]))
            {
                i++;
                continue;
            }

            // A run: digit groups joined by one space or dash each.
            groups.Clear();
            while (true)
            {
                var start = i;
                while (i < text.Length && IsDigit(text[i]))
                {
                    i++;
                }

                groups.Add((start, i));
                if (i + 1 < text.Length && IsSeparator(text[i]) && IsDigit(text[i + 1]))
                {
                    i++;
                    continue;
                }

                break;
            }

            redacted += RedactRun(text, groups);
        }

        return redacted;
    }

    /// <summary>Masks the longest card-number-shaped span of consecutive groups at each start, left to right.</summary>
    private static int RedactRun<T>(Span<T> text, List<(int Start, int End)> groups)
        where T : IBinaryInteger<T>
    {
        var redacted = 0;
        Span<byte> digits = stackalloc byte[MaxDigits];
        var first = 0;
        while (first < groups.Count)
        {
            var matchedLast = -1;
            var count = 0;
            for (var last = first; last < groups.Count; last++)
            {
                count += groups[last].End - groups[last].Start;
                if (count > MaxDigits)
                {
                    break;
                }

                if (count >= MinDigits && Luhn.IsValid(Digits(text, groups, first, last, digits)))
                {
                    matchedLast = last;
                }
            }

            if (matchedLast < 0)
            {
                first++;
                continue;
            }

            Mask(text, groups, first, matchedLast);
            redacted++;
            first = matchedLast + 1;
        }

        return redacted;
    }

    private static ReadOnlySpan<byte> Digits<T>(Span<T> text, List<(int Start, int End)> groups, int first, int last, Span<byte> buffer)
        where T : IBinaryInteger<T>
    {
        var count = 0;
        for (var g = first; g <= last; g++)
        {
            for (var p = groups[g].Start; p < groups[g].End; p++)
            {
                buffer[count++] = (byte)(int.CreateTruncating(text[p]) - '0');
            }
        }

        return buffer[..count];
    }

    private static void Mask<T>(Span<T> text, List<(int Start, int End)> groups, int first, int last)
        where T : IBinaryInteger<T>
    {
        var total = 0;
        for (var g = first; g <= last; g++)
        {
            total += groups[g].End - groups[g].Start;
        }

        var toMask = total - KeptDigits;
        var star = T.CreateTruncating('*');
        for (var g = first; g <= last && toMask > 0; g++)
        {
            for (var p = groups[g].Start; p < groups[g].End && toMask > 0; p++, toMask--)
            {
                text[p] = star;
            }
        }
    }

    private static bool IsDigit<T>(T c)
        where T : IBinaryInteger<T> => int.CreateTruncating(c) is >= '0' and <= '9';

    private static bool IsSeparator<T>(T c)
        where T : IBinaryInteger<T> => int.CreateTruncating(c) is ' ' or '-';
}
