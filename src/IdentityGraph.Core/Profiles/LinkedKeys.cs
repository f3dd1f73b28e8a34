using System.Collections.Immutable;
using IdentityGraph.Core.Identifiers;

namespace IdentityGraph.Core.Profiles;

/// <summary>
/// The sorted identifier keys one piece of link evidence saw together: the key evidence is kept by. Ordered and equal
/// exactly as their comma-joined text (<see cref="ToString"/>) compares ordinally, without building that text: a joined
/// string per evidence entry cost about 350 bytes of every held profile and of every observation that links.
/// </summary>
public readonly struct LinkedKeys : IComparable<LinkedKeys>, IEquatable<LinkedKeys>
{
    public LinkedKeys(ImmutableArray<IdentifierKey> keys) => Keys = keys.IsDefault ? [] : keys;

    public ImmutableArray<IdentifierKey> Keys { get; }

    /// <summary>Orders as <c>string.CompareOrdinal(a.ToString(), b.ToString())</c> would: key by key (vectorised), and
    /// character by character only where a key ends inside the other's text and a comma meets a comma.</summary>
    public int CompareTo(LinkedKeys other)
    {
        var a = Keys;
        var b = other.Keys;
        var both = Math.Min(a.Length, b.Length);
        for (var i = 0; i < both; i++)
        {
            var x = a[i].Value;
            var y = b[i].Value;
            if (ReferenceEquals(x, y))
            {
                continue;
            }

            var common = x.AsSpan().CommonPrefixLength(y);
            if (common < x.Length && common < y.Length)
            {
                return x[common] < y[common] ? -1 : 1;
            }

            if (x.Length == y.Length)
            {
                continue;
            }

            // One key is a prefix of the other: the shorter one's text goes on with a comma, or ends.
            var aIsShorter = x.Length < y.Length;
            var next = aIsShorter ? y[common] : x[common];
            var shorterGoesOn = i + 1 < (aIsShorter ? a.Length : b.Length);
            if (shorterGoesOn && next == ',')
            {
                return CompareCharacters(other);
            }

            var shorterFirst = !shorterGoesOn || ',' < next;
            return shorterFirst == aIsShorter ? -1 : 1;
        }

        // One list starts the other: the longer one's text goes on with a comma — unless neither has a key before it
        // and all it has is one empty key.
        return both > 0 ? a.Length.CompareTo(b.Length) : HasText(a).CompareTo(HasText(b));

        static bool HasText(ImmutableArray<IdentifierKey> keys) => keys.Length > 1 || (keys.Length == 1 && keys[0].Value.Length > 0);
    }

    private int CompareCharacters(LinkedKeys other)
    {
        var a = new JoinedText(Keys);
        var b = new JoinedText(other.Keys);
        while (true)
        {
            var hasA = a.Next(out var ca);
            var hasB = b.Next(out var cb);
            if (!hasA || !hasB)
            {
                return hasA ? 1 : hasB ? -1 : 0;
            }

            if (ca != cb)
            {
                return ca < cb ? -1 : 1;
            }
        }
    }

    public bool Equals(LinkedKeys other) => CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is LinkedKeys other && Equals(other);

    /// <summary>The joined text's length: equal key sets have equal text.</summary>
    public override int GetHashCode()
    {
        var length = Math.Max(0, Keys.Length - 1);
        foreach (var key in Keys)
        {
            length += key.Value.Length;
        }

        return length;
    }

    /// <summary>The keys joined by commas.</summary>
    public override string ToString() => string.Join(',', Keys.Select(k => k.Value));

    public static bool operator ==(LinkedKeys left, LinkedKeys right) => left.Equals(right);

    public static bool operator !=(LinkedKeys left, LinkedKeys right) => !left.Equals(right);

    public static bool operator <(LinkedKeys left, LinkedKeys right) => left.CompareTo(right) < 0;

    public static bool operator >(LinkedKeys left, LinkedKeys right) => left.CompareTo(right) > 0;

    public static bool operator <=(LinkedKeys left, LinkedKeys right) => left.CompareTo(right) <= 0;

    public static bool operator >=(LinkedKeys left, LinkedKeys right) => left.CompareTo(right) >= 0;

    /// <summary>The characters of the comma-joined keys, one at a time.</summary>
    private struct JoinedText(ImmutableArray<IdentifierKey> keys)
    {
        private int key;
        private int position;

        public bool Next(out char c)
        {
            while (key < keys.Length)
            {
                var text = keys[key].Value;
                if (position < text.Length)
                {
                    c = text[position++];
                    return true;
                }

                if (position == text.Length && key + 1 < keys.Length)
                {
                    position++;
                    c = ',';
                    return true;
                }

                key++;
                position = 0;
            }

            c = '\0';
            return false;
        }
    }
}
