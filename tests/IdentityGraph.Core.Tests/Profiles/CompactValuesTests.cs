using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Core.Tests.Profiles;

/// <summary>The compact values a held profile is made of behave like the collections they replace.</summary>
public sealed class CompactValuesTests
{
    // Short keys over characters on both sides of ',' (0x2C), so prefixes and separators meet in the comparison.
    private static Arbitrary<(string[] A, string[] B)> TwoKeyLists { get; } =
        (from a in KeyList
         from b in Gen.OneOf(KeyList, Gen.Constant(a))
         select (a, b)).ToArbitrary();

    private static Gen<string[]> KeyList =>
        from length in Gen.Choose(0, 4)
        from keys in Gen.ArrayOf(Gen.ArrayOf(Gen.Elements('+', ',', '-', '0', 'a', 'b')).Select(c => new string(c)), length)
        select keys;

    [Property(MaxTest = 1000)]
    public Property Linked_keys_order_and_equal_as_their_joined_text() =>
        Prop.ForAll(TwoKeyLists, t =>
        {
            var a = new LinkedKeys([.. t.A.Select(k => new IdentifierKey(k))]);
            var b = new LinkedKeys([.. t.B.Select(k => new IdentifierKey(k))]);
            var expected = Math.Sign(string.CompareOrdinal(string.Join(',', t.A), string.Join(',', t.B)));
            Assert.Equal(expected, Math.Sign(a.CompareTo(b)));
            Assert.Equal(expected == 0, a == b);
            Assert.Equal(string.Join(',', t.A), a.ToString());
            if (a == b)
            {
                Assert.Equal(a.GetHashCode(), b.GetHashCode());
            }
        });

    [Fact]
    public void Linked_keys_of_a_default_array_are_empty()
    {
        var none = new LinkedKeys(default(ImmutableArray<IdentifierKey>));
        Assert.Empty(none.Keys);
        Assert.Equal(new LinkedKeys([]), none);
        Assert.True(none < new LinkedKeys([new IdentifierKey("a")]));
    }

    [Fact]
    public void A_channel_set_holds_each_channel_once_in_enum_order()
    {
        ChannelSet set = [Channel.Store, Channel.Web, Channel.Store];
        Assert.Equal([Channel.Web, Channel.Store], set);
        Assert.Equal(2, set.Count);
        Assert.True(set.Contains(Channel.Web));
        Assert.False(set.Contains(Channel.App));
        Assert.False(set.Contains((Channel)99));
        Assert.Equal([Channel.Web, Channel.App, Channel.Store], set.Union(ChannelSet.Of(Channel.App)));
        Assert.Equal(set, ChannelSet.From([Channel.Web, Channel.Store]));
        Assert.True(ChannelSet.Empty.IsEmpty);
        Assert.Throws<ArgumentOutOfRangeException>(() => ChannelSet.Of((Channel)64));
    }
}
