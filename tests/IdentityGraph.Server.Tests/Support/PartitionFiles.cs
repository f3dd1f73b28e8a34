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
        var normalizer = new ObservationNormalizer(
            new IdentifierNormalizer(options ?? NormalizationOptions.Default), new IdentifierKeyer(IdentifierKeyer.DevelopmentSecret));
        var reference = new ReferenceResolver();
        var names = new Dictionary<IdentifierKey, string>();
        foreach (var line in File.ReadLines(observationsFile))
        {
            var parsed = ObservationParser.ParseJson(line);
            if (!parsed.IsValid || normalizer.Normalize(parsed.Observation!) is not { IsValid: true } normalized)
            {
                continue;
            }

            reference.Add(normalized.Observation!);
            foreach (var identifier in normalized.Observation!.Identifiers)
            {
                names[identifier.Key] = $"{identifier.Identifier.TypeName}|{identifier.Identifier.Namespace}|{identifier.Identifier.Value}";
            }
        }

        return Canonical(reference.Partition().Select(group => group.Select(k => names[k])));
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

    public static List<string> Canonical(IEnumerable<IEnumerable<string>> groups) =>
        [.. groups.Select(g => string.Join(" ", g.Order(StringComparer.Ordinal))).Order(StringComparer.Ordinal)];
}
