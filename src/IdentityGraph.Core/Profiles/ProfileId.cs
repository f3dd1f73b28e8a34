using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Core.Profiles;

/// <summary>
/// A profile's id: a ULID (26 Crockford base-32 characters) whose time part is the creating observation's event time
/// and whose random part is a hash of its observation id and identifier keys (<see cref="For(NormalizedObservation)"/>).
/// Deterministic, so a replay creates the same id; ordinal order is time order, so "union by minimum id" keeps the
/// oldest profile.
/// </summary>
public readonly record struct ProfileId : IComparable<ProfileId>
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private const int Length = 26;

    private ProfileId(string value) => Value = value;

    /// <summary>The 26-character ULID.</summary>
    public string Value { get; }

    /// <summary>The event time encoded in the id (millisecond precision).</summary>
    public DateTimeOffset Timestamp => DateTimeOffset.FromUnixTimeMilliseconds((long)(Decode(Value) >> 80));

    /// <summary>
    /// The deterministic id of the profile an observation creates. The hash covers the observation id <em>and</em> the
    /// sorted identifier keys: a producer that reuses an observation id (and event time) for other identifiers gets a
    /// different id, so the two observations cannot claim one new profile and link strangers; a replay of the same
    /// observation still gets the same id. Consents and attributes do not count: they link nothing.
    /// </summary>
    public static ProfileId For(NormalizedObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        // Observation ids hold no control characters (validated), so a line feed separates the parts unambiguously.
        var seed = string.Join('\n', observation.Identifiers.Select(i => i.Key.Value).Order(StringComparer.Ordinal).Prepend(observation.ObservationId));
        return For(seed, observation.ObservedAt);
    }

    /// <summary>The deterministic id for a seed text and a time (the time part of the ULID).</summary>
    public static ProfileId For(string seed, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(seed);
        var milliseconds = (ulong)Math.Clamp(time.ToUnixTimeMilliseconds(), 0, (1L << 48) - 1);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(seed), hash);
        UInt128 value = milliseconds;
        for (var i = 0; i < 10; i++)
        {
            value = (value << 8) | hash[i];
        }

        return new ProfileId(Encode(value));
    }

    /// <summary>Parses a ULID (case-insensitive); the canonical form is upper case.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out ProfileId id)
    {
        id = default;
        if (text is null || text.Length != Length || text[0] > '7')
        {
            return false;
        }

        // ASCII first: ToUpperInvariant maps some non-ASCII letters to ASCII ones (U+017F 'ſ' → 'S').
        var upper = text.ToUpperInvariant();
        if (!Ascii.IsValid(text) || upper.Any(c => !Alphabet.Contains(c, StringComparison.Ordinal)))
        {
            return false;
        }

        id = new ProfileId(upper);
        return true;
    }

    /// <summary>Parses a ULID; throws <see cref="FormatException"/> when it is not one.</summary>
    public static ProfileId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException("Not a profile id (26-character ULID).");

    public int CompareTo(ProfileId other) => string.CompareOrdinal(Value, other.Value);

    public override string ToString() => Value ?? "";

    public static bool operator <(ProfileId left, ProfileId right) => left.CompareTo(right) < 0;

    public static bool operator >(ProfileId left, ProfileId right) => left.CompareTo(right) > 0;

    public static bool operator <=(ProfileId left, ProfileId right) => left.CompareTo(right) <= 0;

    public static bool operator >=(ProfileId left, ProfileId right) => left.CompareTo(right) >= 0;

    /// <summary>The id as its 128-bit number (ordinal order of ids is numeric order): 16 bytes instead of a string.</summary>
    internal UInt128 ToBits() => Decode(Value);

    /// <summary>The id whose number is <paramref name="bits"/> (<see cref="ToBits"/>).</summary>
    internal static ProfileId FromBits(UInt128 bits) => new(Encode(bits));

    private static string Encode(UInt128 value)
    {
        Span<char> chars = stackalloc char[Length];
        for (var i = Length - 1; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }

        return new string(chars);
    }

    private static UInt128 Decode(string text)
    {
        UInt128 value = 0;
        foreach (var c in text)
        {
            value = (value << 5) | (uint)Alphabet.IndexOf(c, StringComparison.Ordinal);
        }

        return value;
    }
}
