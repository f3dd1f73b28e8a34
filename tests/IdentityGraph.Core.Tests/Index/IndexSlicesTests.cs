using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Index;

namespace IdentityGraph.Core.Tests.Index;

public sealed class IndexSlicesTests
{
    private static readonly IdentifierKeyer Keyer = new(IdentifierKeyer.DevelopmentSecret);

    private static IdentifierKey KeyWithPrefix(string prefix) => new(prefix + new string('0', IndexSlices.KeyLength - prefix.Length));

    /// <summary>Fixed values: a slice number decides where an owner was written, so it may never change.</summary>
    [Theory]
    [InlineData("00000000", 64, 0)]
    [InlineData("0000000a", 64, 10)]
    [InlineData("12345678", 64, 56)]
    [InlineData("12345678", 1000, 896)]
    [InlineData("12345678", 7, 5)]
    [InlineData("12345678", 65536, 22136)]
    [InlineData("ffffffff", 64, 63)]
    [InlineData("ffffffff", 1000, 295)]
    [InlineData("ffffffff", 1, 0)]
    public void Slice_is_the_first_eight_hex_digits_modulo_the_count(string prefix, int sliceCount, int expected) =>
        Assert.Equal(expected, IndexSlices.SliceOf(KeyWithPrefix(prefix), sliceCount));

    [Fact]
    public void Only_the_first_eight_digits_count() =>
        Assert.Equal(
            IndexSlices.SliceOf(new IdentifierKey("12345678" + new string('0', 56)), 1000),
            IndexSlices.SliceOf(new IdentifierKey("12345678" + new string('f', 56)), 1000));

    /// <summary>Real keys from the development secret, pinned (the second has a prefix above int.MaxValue).</summary>
    [Fact]
    public void Slices_of_real_keys_are_stable()
    {
        var email = Keyer.KeyOf(new NormalizedIdentifier(IdentifierType.Email, "", "anna@example.com"));
        var card = Keyer.KeyOf(new NormalizedIdentifier(IdentifierType.MembershipCard, "club", "AB12"));
        Assert.StartsWith("1bfbbe5c", email.Value, StringComparison.Ordinal);
        Assert.StartsWith("f94c1ed3", card.Value, StringComparison.Ordinal);
        Assert.Equal(28, IndexSlices.SliceOf(email, 64));
        Assert.Equal(19, IndexSlices.SliceOf(card, 64));
        Assert.Equal(48732, IndexSlices.SliceOf(email, IndexSlices.MaxSliceCount));
        Assert.Equal(7891, IndexSlices.SliceOf(card, IndexSlices.MaxSliceCount));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(IndexSlices.MaxSliceCount + 1)]
    [InlineData(int.MaxValue)]
    public void Slice_counts_outside_1_to_65536_are_refused(int sliceCount) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => IndexSlices.SliceOf(KeyWithPrefix("12345678"), sliceCount));

    public static TheoryData<string?, string> MalformedKeys => new()
    {
        { null, "has no value" },
        { "", "has 0 characters" },
        { "1234567", "has 7 characters" },
        { new string('a', 63), "has 63 characters" },
        { new string('a', 65), "has 65 characters" },
        { "12345678" + new string('A', 56), "other than 0-9 and a-f" },
        { "ABCDEF12" + new string('0', 56), "other than 0-9 and a-f" },
        { "1234567g" + new string('0', 56), "other than 0-9 and a-f" },
        { "anna@example.com" + new string('0', 48), "other than 0-9 and a-f" },
    };

    [Theory]
    [MemberData(nameof(MalformedKeys))]
    public void Malformed_keys_are_refused_with_a_message_that_does_not_repeat_them(string? value, string reason)
    {
        var key = new IdentifierKey(value!);
        Assert.False(IndexSlices.IsWellFormed(key));
        var error = Assert.Throws<ArgumentException>("key", () => IndexSlices.SliceOf(key, IndexSlices.DefaultSliceCount));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        if (!string.IsNullOrEmpty(value))
        {
            Assert.DoesNotContain(value, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Default_key_is_refused() =>
        Assert.Throws<ArgumentException>("key", () => IndexSlices.SliceOf(default, IndexSlices.DefaultSliceCount));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(IndexSlices.MaxSliceCount)]
    public void Slices_are_within_range_and_roughly_uniform(int sliceCount)
    {
        const int keysPerSlice = 40;
        var random = new Random(20261205);
        var counts = new int[sliceCount];
        var keyCount = Math.Min(sliceCount * keysPerSlice, 400_000);
        Span<byte> bytes = stackalloc byte[IndexSlices.KeyLength / 2];
        for (var i = 0; i < keyCount; i++)
        {
            random.NextBytes(bytes);
            var key = new IdentifierKey(Convert.ToHexStringLower(bytes));
            var slice = IndexSlices.SliceOf(key, sliceCount);
            Assert.InRange(slice, 0, sliceCount - 1);
            counts[slice]++;
        }

        // Chi-square against the uniform distribution, compared with its mean (degrees of freedom) plus six standard
        // deviations: a fixed seed makes this deterministic, the margin makes it meaningful for any seed.
        var expected = (double)keyCount / sliceCount;
        var chiSquare = counts.Sum(c => (c - expected) * (c - expected) / expected);
        var degreesOfFreedom = sliceCount - 1;
        Assert.True(
            chiSquare <= degreesOfFreedom + (6 * Math.Sqrt(2.0 * degreesOfFreedom)),
            $"chi-square {chiSquare:F1} with {degreesOfFreedom} degrees of freedom");
        // With 40 keys expected per slice an empty slice is practically impossible; at 65,536 slices there are only ~6.
        if (sliceCount > 1 && expected >= keysPerSlice)
        {
            Assert.All(counts, c => Assert.InRange(c, 1, keyCount));
        }
    }

    [Fact]
    public void Every_key_of_the_keyer_is_well_formed() =>
        Assert.True(IndexSlices.IsWellFormed(Keyer.KeyOf(new NormalizedIdentifier(IdentifierType.Phone, "", "+4512345678"))));
}
