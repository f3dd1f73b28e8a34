using IdentityGraph.Core.Identifiers;

namespace IdentityGraph.Core.Index;

/// <summary>
/// Which identifier-index slice holds an identifier's owner. The answer must be the same on every node and in every
/// process for the life of a database (it decides where an owner was written), so it is computed from the key's text
/// and never from <see cref="string.GetHashCode()"/>, which is randomised per process.
/// </summary>
public static class IndexSlices
{
    /// <summary>
    /// The slice count a new database's index gets (docs/identifier-index.md › Slice count); a database keeps the count
    /// it was first written with (databases written before 2026-12-07 have 64).
    /// </summary>
    public const int DefaultSliceCount = 16;

    /// <summary>The largest slice count accepted.</summary>
    public const int MaxSliceCount = 65536;

    /// <summary>The length of an identifier key: lower-case hex of an HMAC-SHA256 (<see cref="IdentifierKeyer"/>).</summary>
    public const int KeyLength = 64;

    private const int PrefixDigits = 8;

    /// <summary>
    /// The slice (0 to <paramref name="sliceCount"/> − 1) of <paramref name="key"/>: its first eight hex digits as an
    /// unsigned 32-bit number, modulo <paramref name="sliceCount"/>. The key is an HMAC, so its digits are uniform.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sliceCount"/> is not within 1..<see cref="MaxSliceCount"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="key"/> is not 64 lower-case hex digits.</exception>
    public static int SliceOf(IdentifierKey key, int sliceCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sliceCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sliceCount, MaxSliceCount);
        ThrowIfMalformed(key);

        uint prefix = 0;
        foreach (var c in key.Value.AsSpan(0, PrefixDigits))
        {
            prefix = (prefix << 4) | (uint)(c <= '9' ? c - '0' : c - 'a' + 10);
        }

        return (int)(prefix % (uint)sliceCount);
    }

    /// <summary>Whether <paramref name="key"/> has the form of an identifier key: 64 lower-case hex digits.</summary>
    public static bool IsWellFormed(IdentifierKey key) =>
        key.Value is { Length: KeyLength } value && !value.AsSpan().ContainsAnyExcept(LowerHexDigits);

    private static readonly System.Buffers.SearchValues<char> LowerHexDigits = System.Buffers.SearchValues.Create("0123456789abcdef");

    // The message names the expected form but not the value: a malformed key may be a raw identifier (PII).
    private static void ThrowIfMalformed(IdentifierKey key)
    {
        if (!IsWellFormed(key))
        {
            throw new ArgumentException(
                $"An identifier key is {KeyLength} lower-case hex digits (HMAC-SHA256); this one "
                + (key.Value is null ? "has no value."
                    : key.Value.Length != KeyLength ? $"has {key.Value.Length} characters."
                    : "has characters other than 0-9 and a-f."),
                nameof(key));
        }
    }
}
