using System.Text.Json;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Resolution;

namespace IdentityGraph.Server.Tests.Support;

/// <summary>
/// Partitions of identifiers read from files, in one canonical form (one string per group: its sorted
/// "TYPE|namespace|value" names), so an import file's reference partition and an export can be compared.
/// Shared with the benchmark tool (benchmarks/), which links this file.
/// </summary>
public static class PartitionFiles
{
    /// <summary>The Core reference partition of the valid observations in a proto3 JSON lines file.</summary>
    public static List<string> Reference(string observationsFile, NormalizationOptions? options = null)
    {
        var normalizer = Normalizer(options);
        var reference = new ReferenceResolver();
        var names = new Dictionary<IdentifierKey, string>();
        foreach (var line in File.ReadLines(observationsFile))
        {
            if (Accept(normalizer, line) is not { } observation)
            {
                continue;
            }

            reference.Add(observation);
            foreach (var identifier in observation.Identifiers)
            {
                names[identifier.Key] = $"{identifier.Identifier.TypeName}|{identifier.Identifier.Namespace}|{identifier.Identifier.Value}";
            }
        }

        return Canonical(reference.Partition().Select(group => group.Select(k => names[k])));
    }

    /// <summary>The lines of a proto3 JSON lines file that are refused as a whole (dead-lettered): not an observation, or none after validation.</summary>
    public static List<string> Refused(string observationsFile, NormalizationOptions? options = null)
    {
        var normalizer = Normalizer(options);
        return [.. File.ReadLines(observationsFile).Where(line => Accept(normalizer, line) is null)];
    }

    /// <summary>The partition an <c>identitygraph export</c> file describes.</summary>
    public static List<string> Export(IEnumerable<string> exportLines) =>
        Canonical(exportLines.Select(line =>
        {
            using var json = JsonDocument.Parse(line);
            return json.RootElement.GetProperty("identifiers").EnumerateArray()
                .Select(i => $"{i.GetProperty("type").GetString()}|{i.GetProperty("namespace").GetString()}|{i.GetProperty("value").GetString()}")
                .ToList();
        }));

    private static ObservationNormalizer Normalizer(NormalizationOptions? options) =>
        new(new IdentifierNormalizer(options ?? NormalizationOptions.Default), new IdentifierKeyer(IdentifierKeyer.DevelopmentSecret));

    /// <summary>What ingestion does with a line before the graph: parse, validate, normalise; null when it is refused.</summary>
    private static NormalizedObservation? Accept(ObservationNormalizer normalizer, string line)
    {
        var parsed = ObservationParser.ParseJson(line);
        return parsed.IsValid ? normalizer.Normalize(parsed.Observation!).Observation : null;
    }

    public static List<string> Canonical(IEnumerable<IEnumerable<string>> groups) =>
        [.. groups.Select(g => string.Join(" ", g.Order(StringComparer.Ordinal))).Order(StringComparer.Ordinal)];
}
