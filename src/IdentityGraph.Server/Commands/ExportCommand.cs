using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Configuration;
using IdentityGraph.Cluster.Export;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Profiles;
using IdentityGraph.Server.Configuration;

namespace IdentityGraph.Server.Commands;

/// <summary>
/// <c>identitygraph export --out FILE</c>: one JSON line per live profile (for warehouse snapshots and for comparing a
/// graph with a reference): <c>{"profileId","version","identifiers":[{"type","value","namespace"}],"mergedProfileIds"}</c>.
/// </summary>
public static class ExportCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var output = new Option<FileInfo>("--out") { Description = "File to write, one JSON line per live profile.", Required = true };
        var persistence = PersistenceOption.Create();
        var command = new Command("export", "Export every live profile as JSON lines.")
        {
            output,
            persistence,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = SettingsLoader.Load();
            await SettingsLoader.Identity(configuration).WarnIfDevelopmentSecretAsync(Console.Error);
            var storage = PersistenceOption.Parse(parse.GetValue(persistence), configuration);
            var file = parse.GetValue(output)!;
            if (storage.SqliteFile is { } sqlite && !File.Exists(sqlite))
            {
                throw new Configuration.ConfigurationException([$"--persistence: {sqlite} does not exist; nothing was imported there."]);
            }

            storage.Prepare();
            var config = ConfigurationFactory.ParseString(GraphSerializer.Hocon)
                .WithFallback(PersistenceHocon.ToConfig(storage))
                .WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING"));
            using var system = ActorSystem.Create("identitygraph-export", config);
            var states = await ProfileReader.ReadAllAsync(system, cancellationToken);

            file.Directory?.Create();
            await using var writer = new StreamWriter(file.FullName, append: false, new UTF8Encoding(false));
            var written = await WriteAsync(states, writer);
            await system.Terminate();
            await Console.Error.WriteLineAsync($"exported {written} live profiles from {storage.DisplayString} to {file.FullName}");
            return 0;
        });
        return command;
    }

    /// <summary>Writes the live profiles, ordered by id; returns how many.</summary>
    public static async Task<int> WriteAsync(IReadOnlyDictionary<string, ProfileState> states, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(states);
        ArgumentNullException.ThrowIfNull(writer);
        var written = 0;
        foreach (var (id, state) in states.Where(s => s.Value.Status == ProfileStatus.Live).OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            var line = new ExportedProfile(
                id,
                state.Version,
                [.. state.Content.Identifiers.Values
                    .Select(r => r.Identifier)
                    .OrderBy(i => i.Type).ThenBy(i => i.Namespace, StringComparer.Ordinal).ThenBy(i => i.Value, StringComparer.Ordinal)
                    .Select(i => new ExportedIdentifier(IdentifierTypes.ShortName(i.Type), i.Value, i.Namespace))],
                [.. state.Content.MergedProfileIds.Select(p => p.ToString()).Order(StringComparer.Ordinal)]);
            await writer.WriteLineAsync(JsonSerializer.Serialize(line, JsonOptions));
            written++;
        }

        return written;
    }

    private sealed record ExportedIdentifier(
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("value")] string Value,
        [property: JsonPropertyName("namespace")] string Namespace);

    private sealed record ExportedProfile(
        [property: JsonPropertyName("profileId")] string ProfileId,
        [property: JsonPropertyName("version")] long Version,
        [property: JsonPropertyName("identifiers")] IReadOnlyList<ExportedIdentifier> Identifiers,
        [property: JsonPropertyName("mergedProfileIds")] IReadOnlyList<string> MergedProfileIds);
}
