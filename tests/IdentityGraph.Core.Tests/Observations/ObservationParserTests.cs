using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Core.Tests.Observations;

public sealed class ObservationParserTests
{
    private const string Json = """
        {"observationId":"o-1","source":"app","channel":"CHANNEL_APP","observedAt":"2026-11-01T10:00:00Z",
         "identifiers":[{"type":"IDENTIFIER_TYPE_EMAIL","value":"a@b.dk"}],"attributes":{"city":"Aarhus"}}
        """;

    [Fact]
    public void Enum_values_may_be_written_without_their_prefix()
    {
        var result = ObservationParser.ParseJson("""
            {"observationId":"o-2","channel":"store","observedAt":"2026-11-01T10:00:00Z",
             "identifiers":[{"type":"EMAIL","value":"a@b.dk"},{"type":"IDENTIFIER_TYPE_PHONE","value":"+4512345678"},{"type":"Membership_Card","value":"1"}],
             "consents":[{"purpose":"marketing","channel":"SMS","status":"GRANTED"}]}
            """);

        Assert.True(result.IsValid, result.Error?.ToString());
        var observation = result.Observation!;
        Assert.Equal(Channel.Store, observation.Channel);
        Assert.Equal([IdentifierType.Email, IdentifierType.Phone, IdentifierType.MembershipCard], observation.Identifiers.Select(i => i.Type));
        Assert.Equal((ContactChannel.Sms, ConsentStatus.Granted), (observation.Consents[0].Channel, observation.Consents[0].Status));
    }

    [Fact]
    public void An_unknown_enum_name_stays_unspecified_for_validation_to_report()
    {
        var result = ObservationParser.ParseJson("""{"observationId":"o-3","identifiers":[{"type":"FAX","value":"1"}]}""");

        Assert.True(result.IsValid, result.Error?.ToString());
        Assert.Equal(IdentifierType.Unspecified, result.Observation!.Identifiers[0].Type);
    }

    [Fact]
    public void Proto3_JSON_is_read_by_sniffing_the_brace()
    {
        var result = ObservationParser.Parse(Encoding.UTF8.GetBytes("  " + Json), contentType: null);
        Assert.True(result.IsValid, result.Error?.ToString());
        Assert.Equal("o-1", result.Observation!.ObservationId);
        Assert.Equal(Channel.App, result.Observation.Channel);
        Assert.Equal("Aarhus", result.Observation.Attributes["city"]);
    }

    [Theory]
    [InlineData(null, "")]
    [InlineData("application/json", "")]
    [InlineData(null, " \r\n")]
    [InlineData("application/json; charset=utf-8", "\t")]
    public void JSON_with_a_UTF8_byte_order_mark_is_accepted(string? contentType, string whiteSpace)
    {
        var value = Encoding.UTF8.GetBytes(whiteSpace).Concat(new byte[] { 0xEF, 0xBB, 0xBF }).Concat(Encoding.UTF8.GetBytes(Json)).ToArray();
        var result = ObservationParser.Parse(value, contentType);
        Assert.True(result.IsValid, result.Error?.ToString());
        Assert.Equal("o-1", result.Observation!.ObservationId);
        Assert.Equal("Aarhus", result.Observation.Attributes["city"]);
    }

    [Fact]
    public void A_JSON_line_that_starts_with_U_FEFF_is_accepted()
    {
        var result = ObservationParser.ParseJson("\uFEFF" + Json);
        Assert.True(result.IsValid, result.Error?.ToString());
        Assert.Equal("o-1", result.Observation!.ObservationId);
    }

    [Fact]
    public void A_byte_order_mark_alone_or_inside_the_JSON_is_still_refused()
    {
        Assert.Equal(ObservationErrorCodes.InvalidJson, ObservationParser.Parse(new byte[] { 0xEF, 0xBB, 0xBF }, "application/json").Error?.Code);
        Assert.Equal(ObservationErrorCodes.InvalidJson, ObservationParser.ParseJson("{\uFEFF\"observationId\":\"o\"}").Error?.Code);
    }

    [Fact]
    public void Snake_case_field_names_and_unknown_fields_are_accepted()
    {
        var result = ObservationParser.ParseJson("""{"observation_id":"o-2","observed_at":"2026-11-01T10:00:00Z","future_field":1}""");
        Assert.True(result.IsValid, result.Error?.ToString());
        Assert.Equal("o-2", result.Observation!.ObservationId);
    }

    [Fact]
    public void Protobuf_binary_is_the_default()
    {
        var observation = new Observation
        {
            ObservationId = "o-3",
            ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddDays(1)),
            Identifiers = { new Identifier { Type = IdentifierType.Phone, Value = "+4512345678" } },
        };
        var result = ObservationParser.Parse(observation.ToByteArray(), "application/x-protobuf");
        Assert.Equal(observation, result.Observation);
    }

    [Fact]
    public void The_content_type_header_selects_JSON() =>
        Assert.Equal(ObservationErrorCodes.InvalidJson, ObservationParser.Parse("[1]"u8, "application/json").Error?.Code);

    [Theory]
    [InlineData("{\"observationId\": ", ObservationErrorCodes.InvalidJson)]
    [InlineData("{\"observedAt\": \"yesterday\"}", ObservationErrorCodes.InvalidJson)]
    [InlineData("{\"identifiers\": {\"type\": 1}}", ObservationErrorCodes.InvalidJson)]
    public void Broken_JSON_is_refused_with_a_code(string json, string code) =>
        Assert.Equal(code, ObservationParser.Parse(Encoding.UTF8.GetBytes(json), null).Error?.Code);

    [Fact]
    public void Errors_do_not_quote_the_input()
    {
        var result = ObservationParser.ParseJson("""{"observedAt":"secret@customer.dk"}""");
        Assert.False(result.IsValid);
        Assert.DoesNotContain("secret@customer.dk", result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_and_oversized_records_are_refused()
    {
        Assert.Equal(ObservationErrorCodes.Empty, ObservationParser.Parse([], null).Error?.Code);
        var big = new byte[ObservationLimits.Default.MaxRecordBytes + 1];
        Assert.Equal(ObservationErrorCodes.TooLarge, ObservationParser.Parse(big, null).Error?.Code);
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(42);
        for (var i = 0; i < 5000; i++)
        {
            var bytes = new byte[random.Next(1, 200)];
            random.NextBytes(bytes);
            var result = ObservationParser.Parse(bytes, null);
            Assert.True(result.IsValid || result.Error!.Code.StartsWith("observation.", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Invalid_UTF8_in_JSON_is_refused() =>
        Assert.Equal(ObservationErrorCodes.InvalidJson, ObservationParser.Parse([(byte)'{', 0xff, 0xfe, (byte)'}'], null).Error?.Code);
}
