namespace IdentityGraph.Core.Identifiers;

/// <summary>Detects raw payment card numbers (PANs) so that they are refused before they are stored anywhere.</summary>
public static class Luhn
{
    /// <summary>
    /// True for 13–19 digits (spaces and dashes ignored, as cards are printed) that pass the Luhn check:
    /// the ISO/IEC 7812 shape of a card number.
    /// </summary>
    public static bool LooksLikePan(string value)
    {
        Span<byte> digits = stackalloc byte[19];
        var count = 0;
        foreach (var c in value)
        {
            if (c is ' ' or '-')
            {
                continue;
            }

            if (!char.IsAsciiDigit(c) || count == digits.Length)
            {
                return false;
            }

            digits[count++] = (byte)(c - '0');
        }

        return count >= 13 && IsValid(digits[..count]);
    }

    /// <summary>The Luhn (mod 10) check over a digit sequence, check digit last.</summary>
    public static bool IsValid(ReadOnlySpan<byte> digits)
    {
        var sum = 0;
        var doubleIt = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i];
            if (doubleIt)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubleIt = !doubleIt;
        }

        return sum % 10 == 0;
    }
}
