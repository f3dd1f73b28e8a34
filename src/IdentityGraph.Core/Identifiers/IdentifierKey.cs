namespace IdentityGraph.Core.Identifiers;

/// <summary>
/// The pseudonymous identity of an identifier: lower-case hex of HMAC-SHA256(secret, "TYPE|namespace|normalised").
/// Used as entity id, in logs and in metrics instead of the raw value.
/// </summary>
public readonly record struct IdentifierKey(string Value) : IComparable<IdentifierKey>
{
    public int CompareTo(IdentifierKey other) => string.CompareOrdinal(Value, other.Value);

    public override string ToString() => Value;

    public static bool operator <(IdentifierKey left, IdentifierKey right) => left.CompareTo(right) < 0;

    public static bool operator >(IdentifierKey left, IdentifierKey right) => left.CompareTo(right) > 0;

    public static bool operator <=(IdentifierKey left, IdentifierKey right) => left.CompareTo(right) <= 0;

    public static bool operator >=(IdentifierKey left, IdentifierKey right) => left.CompareTo(right) >= 0;
}
