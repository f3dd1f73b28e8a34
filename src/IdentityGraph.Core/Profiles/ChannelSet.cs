using System.Collections;
using System.Numerics;
using System.Runtime.CompilerServices;
using IdentityGraph.Contracts.V1;

namespace IdentityGraph.Core.Profiles;

/// <summary>
/// The channels an identifier was seen through, as a bit set: a value, not an object (an immutable sorted set took about
/// 100 bytes per identifier of every held profile and an allocation per identifier of every observation). Enumerates
/// in enum order. Holds the channels 0 to 63 (the contract defines fewer; observations are normalised to defined ones).
/// </summary>
[CollectionBuilder(typeof(ChannelSet), nameof(Create))]
public readonly record struct ChannelSet : IReadOnlyCollection<Channel>
{
    private readonly ulong bits;

    private ChannelSet(ulong bits) => this.bits = bits;

    public static ChannelSet Empty => default;

    public int Count => BitOperations.PopCount(bits);

    public bool IsEmpty => bits == 0;

    public static ChannelSet Of(Channel channel) => new(BitOf(channel));

    public static ChannelSet Create(ReadOnlySpan<Channel> channels)
    {
        var bits = 0UL;
        foreach (var channel in channels)
        {
            bits |= BitOf(channel);
        }

        return new ChannelSet(bits);
    }

    public static ChannelSet From(IEnumerable<Channel> channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        var bits = 0UL;
        foreach (var channel in channels)
        {
            bits |= BitOf(channel);
        }

        return new ChannelSet(bits);
    }

    public bool Contains(Channel channel) => (uint)channel < 64 && (bits & (1UL << (int)channel)) != 0;

    public ChannelSet Union(ChannelSet other) => new(bits | other.bits);

    public Enumerator GetEnumerator() => new(bits);

    IEnumerator<Channel> IEnumerable<Channel>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static ulong BitOf(Channel channel) =>
        (uint)channel < 64 ? 1UL << (int)channel : throw new ArgumentOutOfRangeException(nameof(channel), channel, "A channel set holds the channels 0 to 63.");

    /// <summary>Enumerates the channels in enum order without allocating.</summary>
    public struct Enumerator(ulong bits) : IEnumerator<Channel>
    {
        private ulong remaining = bits;

        public Channel Current { get; private set; }

        readonly object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (remaining == 0)
            {
                return false;
            }

            var bit = BitOperations.TrailingZeroCount(remaining);
            remaining &= remaining - 1;
            Current = (Channel)bit;
            return true;
        }

        public readonly void Reset() => throw new NotSupportedException();

        public readonly void Dispose()
        {
        }
    }
}
