using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;

namespace IdentityGraph.Core.Tests.Identifiers;

public sealed class PlaceholderTests
{
    private static readonly IdentifierNormalizer Normalizer = new(new NormalizationOptions { DefaultPhoneRegion = "DK" });

    [Theory]
    [InlineData(IdentifierType.Email, "noreply@shop.example")]
    [InlineData(IdentifierType.Email, " NoReply@Shop.Example ")]
    [InlineData(IdentifierType.Email, "no-reply+orders@shop.example")]
    [InlineData(IdentifierType.Email, "donotreply@shop.example")]
    [InlineData(IdentifierType.Email, "unknown@shop.example")]
    [InlineData(IdentifierType.Phone, "11 11 11 11")]
    [InlineData(IdentifierType.Phone, "+45 00000000")]
    public void Placeholders_are_refused_with_their_own_code(IdentifierType type, string value)
    {
        var result = Normalizer.Normalize(type, value);

        Assert.False(result.IsValid);
        Assert.Equal(IdentifierErrorCodes.Placeholder, result.Error!.Code);
        Assert.DoesNotContain(value.Trim(), result.Error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(IdentifierType.Email, "noreplyhero@shop.example")]
    [InlineData(IdentifierType.Email, "ann.noreply@shop.example")]
    [InlineData(IdentifierType.Email, "test@iana.org")]
    [InlineData(IdentifierType.Phone, "+45 11 11 11 12")]
    [InlineData(IdentifierType.Phone, "+45 30 00 00 00")] // country code 45, not 453: the national number is not one digit
    [InlineData(IdentifierType.Phone, "+1 650 000 0000")]
    [InlineData(IdentifierType.MembershipCard, "00000000")]
    public void Ordinary_values_that_merely_look_alike_are_kept(IdentifierType type, string value) =>
        Assert.True(Normalizer.Normalize(type, value, "club").IsValid);

    [Fact]
    public void The_rule_can_be_turned_off()
    {
        var lenient = new IdentifierNormalizer(new NormalizationOptions { RejectPlaceholders = false });
        Assert.True(lenient.Normalize(IdentifierType.Email, "noreply@shop.example").IsValid);
    }
}
