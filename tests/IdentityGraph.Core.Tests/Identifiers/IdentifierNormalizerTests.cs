using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;

namespace IdentityGraph.Core.Tests.Identifiers;

public sealed class IdentifierNormalizerTests
{
    private static readonly IdentifierNormalizer Normalizer = new(new NormalizationOptions { DefaultPhoneRegion = "DK" });
    private static readonly IdentifierKeyer Keyer = new(IdentifierKeyer.DevelopmentSecret);

    [Theory]
    [InlineData("1234-5678 9012", "123456789012")]
    [InlineData(" club–ab12 ", "CLUBAB12")]
    [InlineData("abc", "ABC")]
    public void Membership_cards_lose_spaces_and_dashes_and_are_upper_cased(string raw, string expected) =>
        Assert.Equal(expected, Normalizer.Normalize(IdentifierType.MembershipCard, raw, "club").Identifier?.Value);

    [Theory]
    [InlineData("12/34")]
    [InlineData("ÆØÅ123")]
    public void Membership_cards_with_other_characters_are_refused(string raw) =>
        Assert.Equal(IdentifierErrorCodes.MembershipCardInvalid, Normalizer.Normalize(IdentifierType.MembershipCard, raw).Error?.Code);

    [Fact]
    public void Membership_card_of_only_dashes_is_empty() =>
        Assert.Equal(IdentifierErrorCodes.Empty, Normalizer.Normalize(IdentifierType.MembershipCard, " - - ").Error?.Code);

    [Fact]
    public void Namespaces_keep_equal_card_numbers_of_different_programmes_apart()
    {
        var a = Normalizer.Normalize(IdentifierType.MembershipCard, "1234", "club-a").Identifier!;
        var b = Normalizer.Normalize(IdentifierType.MembershipCard, "1234", "club-b").Identifier!;
        Assert.NotEqual(Keyer.KeyOf(a), Keyer.KeyOf(b));
        Assert.Equal("club-a", a.Namespace);
    }

    [Fact]
    public void Namespaces_are_ignored_for_global_identifiers()
    {
        var a = Normalizer.Normalize(IdentifierType.Phone, "+45 12 34 56 78", "webshop").Identifier!;
        var b = Normalizer.Normalize(IdentifierType.Phone, "12345678", "pos").Identifier!;
        Assert.Equal("", a.Namespace);
        Assert.Equal(Keyer.KeyOf(a), Keyer.KeyOf(b));
    }

    [Theory]
    [InlineData("6D92078A-8246-4BA4-AE5B-76104861E7DC", "6d92078a-8246-4ba4-ae5b-76104861e7dc")]
    [InlineData("6d92078a82464ba4ae5b76104861e7dc", "6d92078a-8246-4ba4-ae5b-76104861e7dc")]
    [InlineData(" Device-ABC ", "Device-ABC")]
    public void Device_ids_in_UUID_form_are_canonical_others_opaque(string raw, string expected) =>
        Assert.Equal(expected, Normalizer.Normalize(IdentifierType.DeviceId, raw).Identifier?.Value);

    [Fact]
    public void The_zero_device_id_is_refused() =>
        Assert.Equal(IdentifierErrorCodes.DeviceIdZeroed,
            Normalizer.Normalize(IdentifierType.DeviceId, "00000000-0000-0000-0000-000000000000").Error?.Code);

    [Fact]
    public void Customer_ids_are_trimmed_and_keep_case() =>
        Assert.Equal("Cust 0042", Normalizer.Normalize(IdentifierType.CustomerId, "  Cust 0042\t", "crm").Identifier?.Value);

    [Theory]
    [InlineData(IdentifierType.Unspecified, "x", IdentifierErrorCodes.TypeUnspecified)]
    [InlineData((IdentifierType)99, "x", IdentifierErrorCodes.TypeUnspecified)]
    [InlineData(IdentifierType.CustomerId, "   ", IdentifierErrorCodes.Empty)]
    [InlineData(IdentifierType.CustomerId, "a\u0001b", IdentifierErrorCodes.InvalidCharacters)]
    public void Generic_problems_have_generic_codes(IdentifierType type, string value, string code) =>
        Assert.Equal(code, Normalizer.Normalize(type, value).Error?.Code);

    [Fact]
    public void Oversized_values_are_refused_before_parsing() =>
        Assert.Equal(IdentifierErrorCodes.TooLong,
            Normalizer.Normalize(IdentifierType.Phone, new string('1', IdentifierNormalizer.MaxRawLength + 1)).Error?.Code);

    [Fact]
    public void Oversized_namespaces_are_refused() =>
        Assert.Equal(IdentifierErrorCodes.NamespaceInvalid,
            Normalizer.Normalize(IdentifierType.CustomerId, "1", new string('n', IdentifierNormalizer.MaxNamespaceLength + 1)).Error?.Code);

    [Fact]
    public void Keys_are_HMAC_SHA256_hex_of_type_namespace_and_value()
    {
        var id = new NormalizedIdentifier(IdentifierType.MembershipCard, "club", "AB12");
        using var hmac = new System.Security.Cryptography.HMACSHA256(System.Text.Encoding.UTF8.GetBytes(IdentifierKeyer.DevelopmentSecret));
        var expected = Convert.ToHexStringLower(hmac.ComputeHash(System.Text.Encoding.UTF8.GetBytes("MEMBERSHIP_CARD|club|AB12")));
        Assert.Equal(expected, Keyer.KeyOf(id).Value);
        Assert.NotEqual(Keyer.KeyOf(id), new IdentifierKeyer("another-secret-of-enough-length").KeyOf(id));
        Assert.DoesNotContain("AB12", id.ToString(), StringComparison.Ordinal);

        // Non-ASCII, and longer than the key's stack buffer: the same bytes hashed.
        foreach (var (ns, value) in new[] { ("klub-æøå", "Ω-ÅRHUS-ü"), ("", new string('é', 400) + "x") })
        {
            var other = new NormalizedIdentifier(IdentifierType.CustomerId, ns, value);
            var bytes = System.Text.Encoding.UTF8.GetBytes($"CUSTOMER_ID|{ns}|{value}");
            Assert.Equal(Convert.ToHexStringLower(hmac.ComputeHash(bytes)), Keyer.KeyOf(other).Value);
        }
    }

    [Fact]
    public void Short_secrets_are_refused() =>
        Assert.Throws<ArgumentException>(() => new IdentifierKeyer("short"));

    [Theory]
    [InlineData("PHONE", IdentifierType.Phone)]
    [InlineData("IDENTIFIER_TYPE_PHONE", IdentifierType.Phone)]
    [InlineData("membership_card", IdentifierType.MembershipCard)]
    [InlineData(" identifier_type_device_id ", IdentifierType.DeviceId)]
    public void Type_names_parse_with_or_without_prefix(string name, IdentifierType expected)
    {
        Assert.True(IdentifierTypes.TryParse(name, out var type));
        Assert.Equal(expected, type);
    }

    [Theory]
    [InlineData("UNSPECIFIED")]
    [InlineData("IDENTIFIER_TYPE_UNSPECIFIED")]
    [InlineData("")]
    [InlineData(null)]
    public void Unknown_type_names_do_not_parse(string? name) => Assert.False(IdentifierTypes.TryParse(name, out _));

    /// <summary>No input of any shape makes normalisation throw, and a normalised value normalises to itself.</summary>
    [Property(MaxTest = 2000)]
    public Property Normalisation_is_total_and_idempotent() =>
        Prop.ForAll(
            Gen.Elements([.. IdentifierTypes.All, IdentifierType.Unspecified]).ToArbitrary(),
            Gen.OneOf(
                ArbMap.Default.GeneratorFor<string>().Select(s => s ?? ""),
                Gen.Elements("+45 12 34 56 78", "A.B@Example.COM", "1234-5678", "tok_X", "0045 1234 5678")).ToArbitrary(),
            (type, value) =>
            {
                var first = Normalizer.Normalize(type, value, "ns");
                if (!first.IsValid)
                {
                    return first.Error!.Code.Length > 0;
                }

                var again = Normalizer.Normalize(type, first.Identifier!.Value, first.Identifier.Namespace);
                return again.Identifier == first.Identifier;
            });
}
