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
                // Windows tools and some producers write a UTF-8 byte-order mark; it is not part of the JSON.
                text = new System.Text.UTF8Encoding(false, true).GetString(WithoutByteOrderMark(value));
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

    /// <summary>
    /// Parses one proto3 JSON observation (the import file and Kafka JSON format). Enum values may also be written
    /// without their prefix (<c>"EMAIL"</c> for <c>"IDENTIFIER_TYPE_EMAIL"</c>, <c>"STORE"</c>, <c>"GRANTED"</c>,
    /// <c>"SMS"</c>), as people and the DESIGN write them.
    /// </summary>
    public static Result ParseJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        json = WithoutByteOrderMark(json);
        try
        {
            var observation = Json.Parse<Observation>(json);
            // An unknown enum name parses as 0 (unspecified); only then is it worth looking for short names.
            if (HasUnspecifiedEnum(observation) && ExpandShortEnumNames(json) is { } expanded)
            {
                observation = Json.Parse<Observation>(expanded);
            }

            return new Result(observation, null);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException or ArgumentException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return Fail(ObservationErrorCodes.InvalidJson, $"Not proto3 JSON for identitygraph.v1.Observation: {Describe(e)}");
        }
    }

    private static bool HasUnspecifiedEnum(Observation observation) =>
        observation.Channel == Channel.Unspecified
        || observation.Identifiers.Any(i => i.Type == IdentifierType.Unspecified)
        || observation.Consents.Any(c => c.Channel == ContactChannel.Unspecified || c.Status == ConsentStatus.Unspecified);

    /// <summary>The JSON with short enum names given their proto prefix; null when nothing changed or it is not an object.</summary>
    private static string? ExpandShortEnumNames(string json)
    {
        if (System.Text.Json.Nodes.JsonNode.Parse(json) is not System.Text.Json.Nodes.JsonObject root)
        {
            return null;
        }

        var changed = Prefix(root, "channel", "CHANNEL_");
        foreach (var identifier in Items(root, "identifiers"))
        {
            changed |= Prefix(identifier, "type", "IDENTIFIER_TYPE_");
        }

        foreach (var consent in Items(root, "consents"))
        {
            changed |= Prefix(consent, "channel", "CONTACT_CHANNEL_");
            changed |= Prefix(consent, "status", "CONSENT_STATUS_");
        }

        return changed ? root.ToJsonString() : null;
    }

    private static IEnumerable<System.Text.Json.Nodes.JsonObject> Items(System.Text.Json.Nodes.JsonObject parent, string name) =>
        parent[name] is System.Text.Json.Nodes.JsonArray array ? array.OfType<System.Text.Json.Nodes.JsonObject>() : [];

    private static bool Prefix(System.Text.Json.Nodes.JsonObject item, string name, string prefix)
    {
        if (item[name] is not System.Text.Json.Nodes.JsonValue value || !value.TryGetValue<string>(out var text) ||
            text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || text.Length == 0)
        {
            return false;
        }

        item[name] = prefix + text.ToUpperInvariant();
        return true;
    }

    private static bool IsJson(ReadOnlySpan<byte> value, string? contentType)
    {
        if (contentType is not null && contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var start = WithoutByteOrderMark(value).TrimStart(" \t\r\n"u8);
        return start.Length > 0 && start[0] == (byte)'{';
    }

    /// <summary>The value without a leading UTF-8 byte-order mark (EF BB BF), before or after leading white space.</summary>
    private static ReadOnlySpan<byte> WithoutByteOrderMark(ReadOnlySpan<byte> value)
    {
        var start = value.TrimStart(" \t\r\n"u8);
        return start.StartsWith("\uFEFF"u8) ? start[3..] : value;
    }

    /// <summary>The text without a leading U+FEFF (a byte-order mark decoded as a character, e.g. in a concatenated file).</summary>
    private static string WithoutByteOrderMark(string text)
    {
        var start = text.AsSpan().TrimStart(" \t\r\n");
        return start.StartsWith("\uFEFF", StringComparison.Ordinal) ? start[1..].ToString() : text;
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
