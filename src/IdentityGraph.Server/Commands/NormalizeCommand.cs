using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Server.Configuration;

namespace IdentityGraph.Server.Commands;

/// <summary>
/// <c>identitygraph normalize</c>: JSON lines of raw identifiers on stdin, one JSON line per input line on stdout with
/// the normalised value and key, or the error code. Lets data teams check a feed before they connect it.
/// </summary>
public static class NormalizeCommand
{
    /// <summary>Code for an input line that is not a JSON object.</summary>
    public const string InvalidInputCode = "input.invalid_json";

    public static Command Create()
    {
        var region = new Option<string?>("--region")
        {
            Description = "Default region (ISO 3166 alpha-2) for phone numbers without a country code; a line's \"region\" overrides it.",
        };
        var fold = new Option<bool>("--fold-email-aliases")
        {
            Description = "Fold provider e-mail aliases (Gmail dots, +tags). Default: the configured value (off).",
        };
        var command = new Command("normalize", """
            Normalise identifiers: reads JSON lines {"type":"PHONE","value":"...","namespace":"...","region":"DK"} from stdin
            and writes one JSON line per input line: {"type":...,"normalized":...,"key":...,"error":null|{"code":...,"message":...}}.
            The key is HMAC-SHA256 under IdentityGraph__Identity__KeySecret (a development secret when unset).
            """)
        {
            region,
            fold,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = SettingsLoader.Identity(SettingsLoader.Load());
            if (parse.GetValue(region) is { } r)
            {
                settings.DefaultPhoneRegion = r;
            }

            if (parse.GetResult(fold) is not null)
            {
                settings.FoldEmailProviderAliases = parse.GetValue(fold);
            }

            var problems = settings.Validate();
            if (problems.Count > 0)
            {
                throw new ConfigurationException(problems);
            }

            await settings.WarnIfDevelopmentSecretAsync(Console.Error);
            var keyer = settings.CreateKeyer();

            var normalizer = new IdentifierNormalizer(settings.ToNormalizationOptions());
            using var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
            await using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
            await RunAsync(stdin, stdout, normalizer, keyer, cancellationToken);
            return 0;
        });
        return command;
    }

    /// <summary>Processes every line of <paramref name="input"/>; exactly one output line each.</summary>
    public static async Task RunAsync(
        TextReader input, TextWriter output, IdentifierNormalizer normalizer, IdentifierKeyer keyer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        var buffer = new ArrayBufferWriter();
        while (await input.ReadLineAsync(cancellationToken) is { } line)
        {
            buffer.Clear();
            NormalizeLine(line, normalizer, keyer, buffer.Writer);
            await output.WriteLineAsync(buffer.ToString());
        }

        await output.FlushAsync(cancellationToken);
    }

    internal static void NormalizeLine(string line, IdentifierNormalizer normalizer, IdentifierKeyer keyer, Utf8JsonWriter json)
    {
        string? typeName = null;
        IdentifierNormalization result;
        if (!TryReadRequest(line, out var request, out var inputError))
        {
            result = new IdentifierNormalization(null, inputError);
        }
        else
        {
            typeName = request.Type;
            if (IdentifierTypes.TryParse(request.Type, out var type))
            {
                typeName = IdentifierTypes.ShortName(type);
            }

            result = normalizer.Normalize(type, request.Value, request.Namespace, request.Region);
        }

        json.WriteStartObject();
        json.WriteString("type", typeName);
        json.WriteString("normalized", result.Identifier?.Value);
        json.WriteString("key", result.Identifier is { } id ? keyer.KeyOf(id).Value : null);
        if (result.Error is { } error)
        {
            json.WriteStartObject("error");
            json.WriteString("code", error.Code);
            json.WriteString("message", error.Message);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("error");
        }

        json.WriteEndObject();
        json.Flush();
    }

    private readonly record struct Request(string? Type, string? Value, string? Namespace, string? Region);

    private static bool TryReadRequest(string line, out Request request, out ValidationError? error)
    {
        request = default;
        error = null;
        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = new ValidationError(InvalidInputCode, "The line is not a JSON object.");
                return false;
            }

            var root = document.RootElement;
            request = new Request(Text(root, "type"), Text(root, "value"), Text(root, "namespace"), Text(root, "region"));
            return true;
        }
        catch (JsonException)
        {
            error = new ValidationError(InvalidInputCode, "The line is not valid JSON.");
            return false;
        }
    }

    // Numbers are accepted as their literal text: a phone or card number written without quotes is still a value.
    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            }
            : null;

    /// <summary>A reusable UTF-8 buffer with a compact JSON writer that leaves '+' and non-ASCII readable.</summary>
    private sealed class ArrayBufferWriter
    {
        private readonly System.Buffers.ArrayBufferWriter<byte> bytes = new(256);

        public ArrayBufferWriter() =>
            Writer = new Utf8JsonWriter(bytes, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

        public Utf8JsonWriter Writer { get; }

        public void Clear()
        {
            bytes.ResetWrittenCount();
            Writer.Reset(bytes);
        }

        public override string ToString() => Encoding.UTF8.GetString(bytes.WrittenSpan);
    }
}
