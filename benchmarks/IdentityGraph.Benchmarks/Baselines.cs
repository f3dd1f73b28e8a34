using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Resolution;
using IdentityGraph.Server.Tests.Support;
using Npgsql;
using NpgsqlTypes;

namespace IdentityGraph.Benchmarks;

/// <summary>B2 and B3 on the same records as the Kafka runs.</summary>
public sealed record BaselineResult
{
    public long Records { get; init; }

    public long ValidObservations { get; init; }

    public long Identifiers { get; init; }

    public long Profiles { get; init; }

    /// <summary>B2: parse + validate + normalise + key + union-find, one thread, records already in memory.</summary>
    public double ReferenceObservationsPerSecond { get; init; }

    public double ReferenceSeconds { get; init; }

    /// <summary>B2 without parsing and normalisation: union-find alone.</summary>
    public double UnionFindObservationsPerSecond { get; init; }

    /// <summary>B3: COPY of (observation, identifier key) rows into PostgreSQL.</summary>
    public double WarehouseLoadSeconds { get; init; }

    /// <summary>B3: building the edge list and label propagation until no row changes.</summary>
    public double WarehouseResolveSeconds { get; init; }

    public int WarehouseIterations { get; init; }

    public long WarehouseRows { get; init; }

    /// <summary>B3's partition equals B2's.</summary>
    public bool WarehouseEqualsReference { get; init; }

    public bool WarehouseRan { get; init; }

    /// <summary>Records refused (dead-lettered), by code.</summary>
    public Dictionary<string, long> Refused { get; init; } = [];

    /// <summary>Identifiers dropped from valid observations, by code.</summary>
    public Dictionary<string, long> Dropped { get; init; } = [];
}

public static class Baselines
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static int Run(WorkloadOptions workload, long count, string? postgres, string? summaryFile)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var records = WorkloadGenerator.Range(workload, 0, count).ToList();
        var normalizer = NewNormalizer();

        // B2: what the graph does per observation, minus the graph's distribution and durability.
        var resolver = new ReferenceResolver();
        var observations = new List<NormalizedObservation>(records.Count);
        // Warm-up on a throw-away resolver: JIT, libphonenumber's metadata, the IDN mapping tables.
        var warm = new ReferenceResolver();
        foreach (var record in records.Take(2_000))
        {
            if (Prepare(normalizer, record, out _) is { } observation)
            {
                warm.Add(observation);
            }
        }

        var refused = new List<string>();
        var clock = Stopwatch.StartNew();
        foreach (var record in records)
        {
            if (Prepare(normalizer, record, out var error) is not { } observation)
            {
                refused.Add(error!);
                continue;
            }

            resolver.Add(observation);
            observations.Add(observation);
        }

        var referenceSeconds = clock.Elapsed.TotalSeconds;
        var dropped = observations.SelectMany(o => o.Dropped).GroupBy(d => d.Error.Code).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
        clock.Restart();
        var unionOnly = new ReferenceResolver();
        foreach (var observation in observations)
        {
            unionOnly.Add(observation);
        }

        var unionSeconds = clock.Elapsed.TotalSeconds;
        var partition = resolver.Partition();
        var result = new BaselineResult
        {
            Records = records.Count,
            ValidObservations = observations.Count,
            Identifiers = resolver.Count,
            Profiles = partition.Count,
            ReferenceSeconds = Math.Round(referenceSeconds, 3),
            ReferenceObservationsPerSecond = Math.Round(records.Count / referenceSeconds, 0),
            UnionFindObservationsPerSecond = Math.Round(observations.Count / Math.Max(unionSeconds, 1e-6), 0),
            Refused = refused.GroupBy(c => c).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal),
            Dropped = dropped,
        };

        if (postgres is not null)
        {
            result = Warehouse(result, observations, partition, postgres);
        }

        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"B2 reference: {result.Records} records, {result.ValidObservations} valid, {result.Identifiers} identifiers, {result.Profiles} profiles in {result.ReferenceSeconds:F2} s: {result.ReferenceObservationsPerSecond:F0} observations/s (union-find alone {result.UnionFindObservationsPerSecond:F0}/s)"));
        Console.WriteLine("   refused: " + string.Join(' ', result.Refused.Select(p => $"{p.Key}={p.Value}")) + "; identifiers dropped: " + string.Join(' ', result.Dropped.Select(p => $"{p.Key}={p.Value}")));
        if (result.WarehouseRan)
        {
            Console.WriteLine(string.Create(c, $"B3 warehouse: load {result.WarehouseLoadSeconds:F2} s, resolve {result.WarehouseResolveSeconds:F2} s in {result.WarehouseIterations} iterations; partition equals B2: {(result.WarehouseEqualsReference ? "yes" : "NO")}"));
        }

        if (summaryFile is not null)
        {
            File.WriteAllText(summaryFile, JsonSerializer.Serialize(result, Indented));
        }

        return !result.WarehouseRan || result.WarehouseEqualsReference ? 0 : 1;
    }

    /// <summary>
    /// B3, what a warehouse ID-stitching job does: bulk-load the normalised identifier keys of every observation, then
    /// connected components by label propagation in SQL (every identifier starts with its own label; repeat "label =
    /// least label among neighbours" until no row changes). The time to the result is its freshness.
    /// </summary>
    private static BaselineResult Warehouse(
        BaselineResult result, List<NormalizedObservation> observations, IReadOnlyList<IReadOnlyList<IdentifierKey>> reference, string connectionString)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        Execute(connection, "DROP TABLE IF EXISTS obs_keys, ids, edges, labels");
        Execute(connection, "CREATE TABLE obs_keys (obs bigint NOT NULL, key text NOT NULL)");

        var clock = Stopwatch.StartNew();
        long rows = 0;
        using (var copy = connection.BeginBinaryImport("COPY obs_keys (obs, key) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < observations.Count; i++)
            {
                foreach (var identifier in observations[i].Identifiers)
                {
                    copy.StartRow();
                    copy.Write((long)i, NpgsqlDbType.Bigint);
                    copy.Write(identifier.Key.Value, NpgsqlDbType.Text);
                    rows++;
                }
            }

            copy.Complete();
        }

        var load = clock.Elapsed.TotalSeconds;
        clock.Restart();
        Execute(connection, "CREATE TABLE ids AS SELECT key, (row_number() OVER (ORDER BY key))::int AS id FROM (SELECT DISTINCT key FROM obs_keys) k");
        Execute(connection, "CREATE UNIQUE INDEX ids_key ON ids (key)");
        // A star per observation: each of its identifiers linked to its smallest one, both directions.
        Execute(connection, """
            CREATE TABLE edges AS
            WITH keyed AS (SELECT o.obs, i.id FROM obs_keys o JOIN ids i ON i.key = o.key),
                 hub AS (SELECT obs, min(id) AS id FROM keyed GROUP BY obs)
            SELECT DISTINCT k.id AS a, h.id AS b FROM keyed k JOIN hub h ON h.obs = k.obs WHERE k.id <> h.id
            """);
        Execute(connection, "INSERT INTO edges SELECT b, a FROM edges");
        Execute(connection, "CREATE INDEX edges_a ON edges (a)");
        Execute(connection, "CREATE TABLE labels AS SELECT id AS node, id AS label FROM ids");
        Execute(connection, "CREATE UNIQUE INDEX labels_node ON labels (node)");
        Execute(connection, "ANALYZE obs_keys, ids, edges, labels");
        var iterations = 0;
        while (true)
        {
            iterations++;
            var changed = Execute(connection, """
                UPDATE labels l SET label = m.label
                FROM (SELECT e.a AS node, min(n.label) AS label FROM edges e JOIN labels n ON n.node = e.b GROUP BY e.a) m
                WHERE l.node = m.node AND m.label < l.label
                """);
            if (changed == 0)
            {
                break;
            }
        }

        var resolve = clock.Elapsed.TotalSeconds;
        var groups = new Dictionary<int, List<IdentifierKey>>();
        using (var command = new NpgsqlCommand("SELECT i.key, l.label FROM ids i JOIN labels l ON l.node = i.id", connection))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var label = reader.GetInt32(1);
                if (!groups.TryGetValue(label, out var group))
                {
                    groups[label] = group = [];
                }

                group.Add(new IdentifierKey(reader.GetString(0)));
            }
        }

        return result with
        {
            WarehouseRan = true,
            WarehouseRows = rows,
            WarehouseLoadSeconds = Math.Round(load, 3),
            WarehouseResolveSeconds = Math.Round(resolve, 3),
            WarehouseIterations = iterations,
            WarehouseEqualsReference = ReferenceResolver.SamePartition(groups.Values, reference),
        };
    }

    /// <summary>
    /// The reference partition (identifier names, as <c>export</c> writes them) of records [0, count) against an
    /// export file; also counts the export's profiles and identifiers. Exit 0 when equal.
    /// </summary>
    public static int CompareStream(WorkloadOptions workload, long count, string exportFile, string? summaryFile)
    {
        var (expected, names, _) = StreamReference(workload, count);
        var lines = File.ReadLines(exportFile).Where(l => l.Length > 0).ToList();
        var actual = PartitionFiles.Export(lines);
        var identifiers = actual.Sum(g => g.Split(' ').Length);
        var equal = expected.SequenceEqual(actual);
        Console.WriteLine($"reference: {expected.Count} profiles, {names.Count} identifiers; export: {actual.Count} profiles, {identifiers} identifiers; equal: {(equal ? "yes" : "NO")}");
        if (summaryFile is not null)
        {
            File.WriteAllText(summaryFile, JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["observations"] = count,
                ["referenceProfiles"] = expected.Count,
                ["referenceIdentifiers"] = names.Count,
                ["exportProfiles"] = actual.Count,
                ["exportIdentifiers"] = identifiers,
                ["equal"] = equal,
            }));
        }

        return equal ? 0 : 1;
    }

    /// <summary>
    /// The Core reference of records 0…count−1 of the stream: its canonical partition (see <see cref="PartitionFiles"/>),
    /// the names of its identifiers by key, and the indexes of the records ingestion refuses as a whole (dead letters).
    /// </summary>
    internal static (List<string> Partition, Dictionary<IdentifierKey, string> Names, List<long> Refused) StreamReference(WorkloadOptions workload, long count)
    {
        var normalizer = NewNormalizer();
        var resolver = new ReferenceResolver();
        var names = new Dictionary<IdentifierKey, string>();
        var refused = new List<long>();
        foreach (var record in WorkloadGenerator.Range(workload, 0, count))
        {
            if (Prepare(normalizer, record, out _) is not { } observation)
            {
                refused.Add(record.Index);
                continue;
            }

            resolver.Add(observation);
            foreach (var identifier in observation.Identifiers)
            {
                names[identifier.Key] = $"{identifier.Identifier.TypeName}|{identifier.Identifier.Namespace}|{identifier.Identifier.Value}";
            }
        }

        return (PartitionFiles.Canonical(resolver.Partition().Select(g => g.Select(k => names[k]))), names, refused);
    }

    /// <summary>What ingestion does with a record before the graph: parse, validate, normalise; null with the code when refused.</summary>
    private static NormalizedObservation? Prepare(ObservationNormalizer normalizer, WorkloadRecord record, out string? error)
    {
        var parsed = ObservationParser.Parse(record.Value, record.Json ? "application/json" : null);
        if (!parsed.IsValid)
        {
            error = parsed.Error!.Code;
            return null;
        }

        var normalized = normalizer.Normalize(parsed.Observation!);
        error = normalized.Error?.Code;
        return normalized.Observation;
    }

    private static ObservationNormalizer NewNormalizer() =>
        new(new IdentifierNormalizer(NormalizationOptions.Default), new IdentifierKeyer(IdentifierKeyer.DevelopmentSecret));

    private static int Execute(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        return command.ExecuteNonQuery();
    }
}
