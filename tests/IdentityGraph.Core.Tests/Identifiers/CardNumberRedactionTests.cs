using System.Text;
using Google.Protobuf;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;

namespace IdentityGraph.Core.Tests.Identifiers;

public sealed class CardNumberRedactionTests
{
    [Theory]
    [InlineData("4111111111111111", "************1111")]
    [InlineData("4111 1111 1111 1111", "**** **** **** 1111")]
    [InlineData("4111-1111-1111-1111", "****-****-****-1111")]
    [InlineData("3700 0000 0000 002", "**** **** ***0 002")]
    [InlineData("pan=4111111111111111;", "pan=************1111;")]
    [InlineData("{\"value\":\"5555555555554444\"}", "{\"value\":\"************4444\"}")]
    [InlineData("4111 1111 1111 1111 2026", "**** **** **** 1111 2026")]
    [InlineData("2026 4111 1111 1111 1111", "2026 **** **** **** 1111")]
    [InlineData("cards 4111111111111111 and 5555555555554444", "cards ************1111 and ************4444")]
    public void Masks_every_digit_of_a_card_number_but_the_last_four(string input, string expected)
    {
        Assert.Equal(expected, CardNumberRedaction.Redact(input));
        var bytes = Encoding.UTF8.GetBytes(input);
        CardNumberRedaction.RedactInPlace(bytes);
        Assert.Equal(expected, Encoding.UTF8.GetString(bytes));
    }

    [Theory]
    [InlineData("4111111111111112")] // fails the Luhn check
    [InlineData("411111111111")] // 12 digits: too short
    [InlineData("41111111111111111111111")] // one group of 23 digits: not card-shaped
    [InlineData("+45 12 34 56 78")]
    [InlineData("2026-12-05T10:00:00Z")]
    [InlineData("4111  1111 1111 1111")] // two spaces split the run; no part is a card number
    [InlineData("")]
    public void Leaves_what_is_not_a_card_number(string input)
    {
        Assert.Same(input, CardNumberRedaction.Redact(input));
        var bytes = Encoding.UTF8.GetBytes(input);
        Assert.Equal(0, CardNumberRedaction.RedactInPlace(bytes));
        Assert.Equal(input, Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void Keeps_multi_byte_UTF8_around_a_card_number_intact()
    {
        var input = "kort: 4111 1111 1111 1111 — æøå 😀";
        var bytes = Encoding.UTF8.GetBytes(input);
        Assert.Equal(1, CardNumberRedaction.RedactInPlace(bytes));
        Assert.Equal("kort: **** **** **** 1111 — æøå 😀", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void A_protobuf_observation_keeps_its_structure_and_loses_the_card_number()
    {
        var observation = new Observation
        {
            ObservationId = "obs-1",
            Source = "pos",
            Identifiers =
            {
                new Identifier { Type = IdentifierType.PaymentToken, Value = "4111 1111 1111 1111", Namespace = "psp" },
                new Identifier { Type = IdentifierType.Email, Value = "anna@example.com" },
            },
        };
        var bytes = observation.ToByteArray();
        var redacted = CardNumberRedaction.Redact(bytes)!;

        Assert.Equal(bytes.Length, redacted.Length);
        var parsed = Observation.Parser.ParseFrom(redacted);
        Assert.Equal("**** **** **** 1111", parsed.Identifiers[0].Value);
        Assert.Equal("anna@example.com", parsed.Identifiers[1].Value);
        Assert.Equal("obs-1", parsed.ObservationId);
        Assert.DoesNotContain("4111 1111", Encoding.UTF8.GetString(redacted), StringComparison.Ordinal);
    }

    [Fact]
    public void Returns_the_same_array_when_nothing_is_masked()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"observationId\":\"1733400000000\"}");
        Assert.Same(bytes, CardNumberRedaction.Redact(bytes));
        Assert.Null(CardNumberRedaction.Redact((byte[]?)null));
    }

    [SharedDataFact]
    public void Every_published_test_card_number_is_masked_as_printed_and_as_digits()
    {
        var lines = File.ReadLines(SharedData.PathOf("payment-test-cards/derived_test_cards_luhn.csv")).Skip(1).ToList();
        var masked = 0;
        foreach (var fields in lines.Select(l => l.Split(',')))
        {
            var (raw, digits, length, luhnValid) = (fields[2], fields[3], int.Parse(fields[4], System.Globalization.CultureInfo.InvariantCulture), fields[5] == "True");
            if (!luhnValid || length is < 13 or > 19)
            {
                continue;
            }

            foreach (var value in new[] { raw, digits })
            {
                var json = $"{{\"identifiers\":[{{\"type\":\"IDENTIFIER_TYPE_PAYMENT_TOKEN\",\"value\":\"{value}\"}}]}}";
                var redacted = CardNumberRedaction.Redact(json);
                Assert.DoesNotContain(digits[..^4], redacted.Replace(" ", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal), StringComparison.Ordinal);
                Assert.EndsWith(digits[^4..] + "\"}]}", redacted.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
                Assert.Equal(json.Length, redacted.Length);
                masked++;
            }
        }

        Assert.True(masked >= 80, $"only {masked} test card numbers were checked");
    }
}
