using Google.Protobuf;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;

namespace IdentityGraph.Core.Observations;

/// <summary>
/// Reads an <see cref="Observation"/> from a record value: protobuf binary by default, proto3 canonical JSON when the
/// content type says JSON or the value starts with '{'. Never throws for bad input.
/// </summary>
public static class ObservationParser
{
    // Unknown JSON fields are ignored, as protobuf binary ignores unknown fields: a producer on a newer contract still works.
    private static readonly JsonParser Json = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    public readonly record struct Result(Observation? Observation, ValidationError? Error)
    {
        public bool IsValid => Error is null;
    }

    public static Result Parse(ReadOnlySpan<byte> value, string? contentType, ObservationLimits? limits = null)
    {
        limits ??= ObservationLimits.Default;
        if (value.Length == 0)
        {
            return Fail(ObservationErrorCodes.Empty, "The record value is empty.");
        }

        if (value.Length > limits.MaxRecordBytes)
        {
            return Fail(ObservationErrorCodes.TooLarge, $"The record is larger than {limits.MaxRecordBytes} bytes.");
        }

        if (IsJson(value, contentType))
        {
            string text;
            try
            {
                text = new System.Text.UTF8Encoding(false, true).GetString(value);
            }
            catch (System.Text.DecoderFallbackException)
            {
                return Fail(ObservationErrorCodes.InvalidJson, "The JSON value is not valid UTF-8.");
            }

            return ParseJson(text);
        }

        try
        {
            return new Result(Observation.Parser.ParseFrom(value), null);
        }
        catch (InvalidProtocolBufferException e)
        {
            return Fail(ObservationErrorCodes.Unparseable, $"Not a protobuf identitygraph.v1.Observation: {e.Message}");
        }
    }

    /// <summary>Parses one proto3 JSON observation (the import file and Kafka JSON format).</summary>
    public static Result ParseJson(string json)
    {
        try
        {
            return new Result(Json.Parse<Observation>(json), null);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException or ArgumentException)
        {
            return Fail(ObservationErrorCodes.InvalidJson, $"Not proto3 JSON for identitygraph.v1.Observation: {Describe(e)}");
        }
    }

    private static bool IsJson(ReadOnlySpan<byte> value, string? contentType)
    {
        if (contentType is not null && contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var start = value.TrimStart(" \t\r\n"u8);
        if (start.StartsWith("\uFEFF"u8))
        {
            start = start[3..].TrimStart(" \t\r\n"u8);
        }

        return start.Length > 0 && start[0] == (byte)'{';
    }

    // Parser messages can quote the offending value ("Invalid Timestamp value: ann@shop.dk"), which may be PII:
    // keep only the part before the first quote or colon.
    private static string Describe(Exception e)
    {
        var message = e.Message;
        var cut = message.IndexOfAny(['\'', '"', ':']);
        return cut > 0 ? message[..cut].TrimEnd() : cut == 0 ? "malformed value" : message;
    }

    private static Result Fail(string code, string message) => new(null, new ValidationError(code, message));
}
