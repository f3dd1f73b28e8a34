using System.Globalization;
using IdentityGraph.Core.Identifiers;

namespace IdentityGraph.Core.Index;

/// <summary>
/// An identifier key (64 lower-case hex digits of an HMAC-SHA256) as its 32 bytes, for the index slices' dictionaries:
/// a quarter of the string's memory and no object of its own.
/// </summary>
internal readonly record struct PackedKey(ulong A, ulong B, ulong C, ulong D)
{
    private const int HexLength = 64;

    /// <summary>Packs <paramref name="key"/>; throws <see cref="ArgumentException"/> unless it is 64 lower-case hex digits.</summary>
    public static PackedKey From(IdentifierKey key)
    {
        var text = key.Value;
        if (text is not { Length: HexLength } ||
            !TryPart(text, 0, out var a) || !TryPart(text, 1, out var b) || !TryPart(text, 2, out var c) || !TryPart(text, 3, out var d))
        {
            throw new ArgumentException("An identifier key is 64 lower-case hex digits (HMAC-SHA256).", nameof(key));
        }

        return new PackedKey(a, b, c, d);
    }

    /// <summary>The key this was packed from.</summary>
    public IdentifierKey ToKey() => new(string.Create(HexLength, this, static (chars, packed) =>
    {
        packed.A.TryFormat(chars[..16], out _, "x16", CultureInfo.InvariantCulture);
        packed.B.TryFormat(chars[16..32], out _, "x16", CultureInfo.InvariantCulture);
        packed.C.TryFormat(chars[32..48], out _, "x16", CultureInfo.InvariantCulture);
        packed.D.TryFormat(chars[48..], out _, "x16", CultureInfo.InvariantCulture);
    }));

    // The key is a uniform hash, so its first 8 bytes are as good a hash code as any.
    public override int GetHashCode() => (int)A ^ (int)(A >> 32);

    public bool Equals(PackedKey other) => A == other.A && B == other.B && C == other.C && D == other.D;

    // One pass over 16 digits; lower case only, the form IdentifierKeyer writes (ulong.Parse would take upper case too).
    private static bool TryPart(string text, int index, out ulong value)
    {
        value = 0;
        foreach (var ch in text.AsSpan(index * 16, 16))
        {
            var digit = ch switch
            {
                >= '0' and <= '9' => ch - '0',
                >= 'a' and <= 'f' => ch - 'a' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | (uint)digit;
        }

        return true;
    }
}
