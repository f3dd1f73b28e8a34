using System.Text.Json;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using Xunit.Abstractions;

namespace IdentityGraph.Core.Tests.Identifiers;

public sealed class PaymentTokenTests(ITestOutputHelper output)
{
    private static readonly IdentifierNormalizer Normalizer = new(NormalizationOptions.Default);

    /// <summary>
    /// Every published processor test card (Adyen, Stripe, PayPal, classic vectors) that has the shape of a PAN
    /// (13–19 digits, Luhn-valid) is refused as a payment token, written with spaces or without. The rest of the list
    /// (an 11-digit Dankort number and three deliberate Luhn failures) is not a PAN by that definition and is accepted
    /// as an opaque token: a token provider may well issue such strings.
    /// </summary>
    [SharedDataFact]
    public void Every_published_test_card_number_is_refused_as_a_raw_PAN()
    {
        var lines = File.ReadLines(SharedData.PathOf("payment-test-cards/derived_test_cards_luhn.csv")).Skip(1).ToList();
        var refused = 0;
        var accepted = 0;
        foreach (var fields in lines.Select(l => l.Split(',')))
        {
            var (raw, digits, length, luhnValid) = (fields[2], fields[3], int.Parse(fields[4], System.Globalization.CultureInfo.InvariantCulture), fields[5] == "True");
            var isPan = luhnValid && length is >= 13 and <= 19;
            foreach (var value in new[] { raw, digits })
            {
                var result = Normalizer.Normalize(IdentifierType.PaymentToken, value, "psp");
                if (isPan)
                {
                    Assert.Equal(IdentifierErrorCodes.PaymentTokenRawPan, result.Error?.Code);
                    Assert.DoesNotContain(digits, result.Error!.Message, StringComparison.Ordinal);
                }
                else
                {
                    Assert.True(result.IsValid, $"a {length}-digit Luhn-{(luhnValid ? "valid" : "invalid")} number is not a PAN");
                }
            }

            if (isPan)
            {
                refused++;
            }
            else
            {
                accepted++;
            }
        }

        output.WriteLine($"test cards: {refused} PANs refused, {accepted} non-PAN numbers accepted as tokens");
        Assert.True(refused >= 90, "expected the full list of published test cards");
    }

    [SharedDataFact]
    public void Adyen_and_Stripe_source_lists_are_refused_too()
    {
        var numbers = new List<string>();
        using (var adyen = JsonDocument.Parse(File.ReadAllText(SharedData.PathOf("payment-test-cards/adyen/cards.json"))))
        {
            numbers.AddRange(adyen.RootElement.EnumerateArray()
                .SelectMany(g => g.GetProperty("items").EnumerateArray())
                .Select(i => i.GetProperty("cardnumber").GetString()!));
        }

        using (var stripe = JsonDocument.Parse(File.ReadAllText(SharedData.PathOf("payment-test-cards/stripe-bendrucker/cards.json"))))
        {
            numbers.AddRange(stripe.RootElement.EnumerateArray().Select(c => c.GetProperty("number").GetString()!));
        }

        var pans = numbers.Where(Luhn.LooksLikePan).ToList();
        output.WriteLine($"adyen+stripe: {numbers.Count} numbers, {pans.Count} PAN-shaped");
        Assert.True(pans.Count >= 70);
        Assert.All(pans, n => Assert.Equal(
            IdentifierErrorCodes.PaymentTokenRawPan, Normalizer.Normalize(IdentifierType.PaymentToken, n).Error?.Code));
    }

    [Theory]
    [InlineData("  tok_1Nv0FGQ9RKHgCVdK  ", "tok_1Nv0FGQ9RKHgCVdK")]
    [InlineData("pm_ABCdef", "pm_ABCdef")]
    [InlineData("4242424242424241", "4242424242424241")] // Luhn-invalid: not a PAN
    public void Tokens_are_trimmed_and_case_sensitive(string raw, string expected) =>
        Assert.Equal(expected, Normalizer.Normalize(IdentifierType.PaymentToken, raw, "stripe").Identifier?.Value);

    [Theory]
    [InlineData("4111-1111-1111-1111")]
    [InlineData("4111 1111 1111 1111")]
    [InlineData(" 4111111111111111 ")]
    [InlineData("6011000990139424")]
    public void Raw_PANs_are_refused_however_written(string raw) =>
        Assert.Equal(IdentifierErrorCodes.PaymentTokenRawPan, Normalizer.Normalize(IdentifierType.PaymentToken, raw).Error?.Code);

    [Fact]
    public void Tokens_with_white_space_inside_are_refused() =>
        Assert.Equal(IdentifierErrorCodes.PaymentTokenInvalid, Normalizer.Normalize(IdentifierType.PaymentToken, "tok abc").Error?.Code);

    [Fact]
    public void Case_matters_for_tokens()
    {
        var keyer = new IdentifierKeyer(IdentifierKeyer.DevelopmentSecret);
        var lower = Normalizer.Normalize(IdentifierType.PaymentToken, "tok_abc", "psp").Identifier!;
        var upper = Normalizer.Normalize(IdentifierType.PaymentToken, "TOK_ABC", "psp").Identifier!;
        Assert.NotEqual(keyer.KeyOf(lower), keyer.KeyOf(upper));
    }
}
