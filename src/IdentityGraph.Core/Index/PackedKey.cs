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
        if (text is not { Length: HexLength } || !IsLowerHex(text))
        {
            throw new ArgumentException("An identifier key is 64 lower-case hex digits (HMAC-SHA256).", nameof(key));
        }

        return new PackedKey(Part(text, 0), Part(text, 1), Part(text, 2), Part(text, 3));
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

    private static ulong Part(string text, int index) =>
        ulong.Parse(text.AsSpan(index * 16, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    private static bool IsLowerHex(string text)
    {
        foreach (var c in text)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }
}
