using System.Globalization;
using System.Text;
using System.Text.Json;

namespace IdentityGraph.Benchmarks;

/// <summary>
/// Renders benchmarks/RESULTS.md from the files one run of benchmarks/run.sh left in its run directory, and prints the
/// one-line summary <c>observations_per_s=N passthrough_ratio=R p99_ms=L</c> (PostgreSQL when it ran, else SQLite).
/// Nothing in the report is typed in: every figure comes from those files.
/// </summary>
public static class Report
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;
    private static readonly string[] Systems = ["sqlite", "postgres"];
    private static readonly string[] LatencyPhases = ["lat25", "lat50", "lat75"];
    private static readonly string[] CpuSystems = ["passthrough", "sqlite", "postgres"];

    public static int Run(string directory, string outputFile)
    {
        var phases = Directory.EnumerateFiles(directory, "phase-*.json")
            .Select(f => (Key: Path.GetFileNameWithoutExtension(f)["phase-".Length..], Phase: Read<PhaseResult>(f)))
            .ToDictionary(p => p.Key, p => p.Phase, StringComparer.Ordinal);
        var baselines = File.Exists(Path.Combine(directory, "baselines.json")) ? Read<BaselineResult>(Path.Combine(directory, "baselines.json")) : null;
        var passthrough = phases.GetValueOrDefault("passthrough-max");
        var text = new StringBuilder();
        var mode = File.Exists(Path.Combine(directory, "mode.txt")) ? File.ReadAllText(Path.Combine(directory, "mode.txt")).Trim() : "full";

        text.AppendLine("# Benchmark results");
        text.AppendLine();
        text.AppendLine(C, $"Written by `benchmarks/run.sh{(mode == "quick" ? " --quick" : "")}` (`benchmarks … report`); every figure below comes from that run.");
        text.AppendLine("How the figures are measured, and the workload's parameters: [README.md](README.md).");
        text.AppendLine();
        text.AppendLine("## Machine");
        text.AppendLine();
        text.AppendLine("```");
        text.AppendLine(Text(directory, "machine.txt").TrimEnd());
        text.AppendLine("```");
        text.AppendLine();

        text.AppendLine("## The system against the baselines");
        text.AppendLine();
        text.AppendLine("Sustained throughput: records [warm-up end, +count) produced as fast as the consumer group commits them (lag ≤ `--max-lag`),");
        text.AppendLine("first record produced → last output record. Latency: Kafka record timestamp of an observation → record timestamp of the first");
        text.AppendLine("profile event it caused, at a fixed rate of 25/50/75 % of that system's measured maximum. \"other CPU\" is the busy CPU time of");
        text.AppendLine("the machine that none of the benchmark's processes used during the phase (0 = a quiet machine; 2 cores give 2 CPU-s per second).");
        text.AppendLine();
        text.AppendLine("| system | observations/s | ratio to B1 | latency p50 / p99 / p999 ms at 25 % | at 50 % | at 75 % | journal rows per observation | peak RSS (serve) | live profiles | identifiers | export = reference | other CPU during max phase |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        if (passthrough is not null)
        {
            text.AppendLine(C, $"| B1 Kafka pass-through (consume → parse → produce) | {passthrough.ObservationsPerSecond:N0} | 1.000 | — | {Latencies(phases, "passthrough")} | — | — | — | — | — | — | {OtherShare(passthrough)} |");
        }

        if (baselines is not null)
        {
            text.AppendLine(C, $"| B2 Core union-find with parsing + normalisation (1 thread, in memory) | {baselines.ReferenceObservationsPerSecond:N0} | {Ratio(baselines.ReferenceObservationsPerSecond, passthrough)} | — | — | — | — | — | {baselines.Profiles:N0} | {baselines.Identifiers:N0} | (the reference) | — |");
            if (baselines.WarehouseRan)
            {
                var fresh = baselines.WarehouseLoadSeconds + baselines.WarehouseResolveSeconds;
                text.AppendLine(C, $"| B3 warehouse: COPY + SQL label propagation in PostgreSQL (batch) | {baselines.ValidObservations / fresh:N0} (result after {fresh:F1} s) | {Ratio(baselines.ValidObservations / fresh, passthrough)} | — | — | — | — | — | — | — | {(baselines.WarehouseEqualsReference ? "yes" : "**NO**")} (vs B2) | — |");
            }
        }

        foreach (var system in Systems)
        {
            if (!phases.TryGetValue(system + "-max", out var max))
            {
                continue;
            }

            var info = ReadDictionary(Path.Combine(directory, $"system-{system}.json"));
            var storage = ReadDictionary(Path.Combine(directory, $"storage-{system}.json"));
            var compare = ReadDictionary(Path.Combine(directory, $"compare-{system}.json"));
            var observations = phases.Where(p => p.Key.StartsWith(system + "-", StringComparison.Ordinal)).Sum(p => p.Value.Count);
            var journal = storage.TryGetValue("journalRowsWritten", out var rows) || storage.TryGetValue("journalRows", out rows) ? rows.GetDouble() : double.NaN;
            var rss = info.TryGetValue("peakRssKb", out var kb) ? $"{kb.GetDouble() / 1024:N0} MiB" : "?";
            var equal = compare.TryGetValue("equal", out var e) ? (e.GetBoolean() ? "yes" : "**NO**") : "not checked";
            var profiles = compare.TryGetValue("exportProfiles", out var p) ? p.GetInt64().ToString("N0", C) : "?";
            var identifiers = compare.TryGetValue("exportIdentifiers", out var i) ? i.GetInt64().ToString("N0", C) : "?";
            var name = system == "sqlite" ? "IdentityGraph, SQLite (WAL)" : "IdentityGraph, PostgreSQL 15 (fsync=on, synchronous_commit=on)";
            text.AppendLine(C, $"| {name} | {max.ObservationsPerSecond:N0} | {Ratio(max.ObservationsPerSecond, passthrough)} | {string.Join(" | ", LatencyPhases.Select(l => Latency(phases.GetValueOrDefault($"{system}-{l}"))))} | {journal / observations:F2} ({journal:N0} rows / {observations:N0}) | {rss} | {profiles} | {identifiers} | {equal} | {OtherShare(max)} |");
        }

        text.AppendLine();
        if (baselines is not null)
        {
            text.AppendLine(C, $"B2/B3 input: the first {baselines.Records:N0} records of the stream ({baselines.ValidObservations:N0} valid observations). B2 union-find alone (no parsing or normalisation): {baselines.UnionFindObservationsPerSecond:N0} observations/s.");
            if (baselines.WarehouseRan)
            {
                text.AppendLine(C, $"B3: COPY of {baselines.WarehouseRows:N0} (observation, key) rows {baselines.WarehouseLoadSeconds:F2} s, then edges + {baselines.WarehouseIterations} label-propagation iterations {baselines.WarehouseResolveSeconds:F2} s: a result {baselines.WarehouseLoadSeconds + baselines.WarehouseResolveSeconds:F1} s after the data was complete (its freshness; a scheduled job adds its schedule interval).");
            }

            text.AppendLine();
        }

        text.AppendLine("## Where the CPU went (max-rate phase)");
        text.AppendLine();
        text.AppendLine("CPU milliseconds per observation, by process (user + system, including child processes), during the sustained phase.");
        text.AppendLine();
        text.AppendLine("| system | serve / pass-through | dev broker | PostgreSQL | load tool | other | wall ms per observation |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (system, phase) in CpuSystems.Where(s => phases.ContainsKey(s + "-max")).Select(s => (s, phases[s + "-max"])))
        {
            double Ms(string process) => phase.CpuSeconds.TryGetValue(process, out var s) ? s * 1000 / phase.Count : double.NaN;
            text.AppendLine(C, $"| {system} | {Ms(system == "passthrough" ? "passthrough" : "serve"):F2} | {Ms("broker"):F2} | {(phase.CpuSeconds.ContainsKey("postgres") ? Ms("postgres").ToString("F2", C) : "—")} | {Ms("load"):F2} | {phase.OtherBusySeconds * 1000 / phase.Count:F2} | {phase.SpanSeconds * 1000 / phase.Count:F2} |");
        }

        text.AppendLine();
        text.AppendLine("## Phases");
        text.AppendLine();
        text.AppendLine("| run | records | target rate | observations/s | span s | output records | dead letters | p50 | p90 | p99 | p999 | max ms | completed |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (key, phase) in phases.OrderBy(p => Array.IndexOf(CpuSystems, p.Key[..p.Key.IndexOf('-', StringComparison.Ordinal)])).ThenBy(p => p.Value.From))
        {
            text.AppendLine(C, $"| {key} | {phase.From:N0}–{phase.From + phase.Count - 1:N0} | {(phase.TargetRate > 0 ? phase.TargetRate.ToString("N0", C) + "/s" : "max")} | {(phase.OutputRecords > 0 ? phase.ObservationsPerSecond.ToString("N0", C) : "— (no output seen)")} | {(phase.OutputRecords > 0 ? phase.SpanSeconds.ToString("F1", C) : "—")} | {phase.OutputRecords:N0} | {phase.DeadLetters:N0} | {phase.LatencyP50Ms} | {phase.LatencyP90Ms} | {phase.LatencyP99Ms} | {phase.LatencyP999Ms} | {phase.LatencyMaxMs} | {(phase.Completed ? "yes" : "**no**")} |");
        }

        text.AppendLine();
        if (phases.Values.FirstOrDefault() is { } any)
        {
            text.AppendLine("Workload: `" + any.Workload + "`");
            text.AppendLine();
        }

        foreach (var system in Systems)
        {
            var storage = ReadDictionary(Path.Combine(directory, $"storage-{system}.json"));
            if (storage.Count > 0)
            {
                text.Append(C, $"Journal after the {system} run: ").Append(string.Join(", ", storage.Select(s => $"{s.Key} {s.Value}"))).AppendLine(".");
            }
        }

        AppendScale(text, directory);

        text.AppendLine();
        var micro = Text(directory, "micro.md");
        if (micro.Length > 0)
        {
            text.AppendLine("## Micro benchmarks (BenchmarkDotNet, in process)");
            text.AppendLine();
            text.AppendLine(micro.TrimEnd());
            text.AppendLine();
        }

        text.AppendLine("## Commands");
        text.AppendLine();
        text.AppendLine("```");
        text.AppendLine(Text(directory, "commands.txt").TrimEnd());
        text.AppendLine("```");
        File.WriteAllText(outputFile, text.ToString());

        var headline = Enumerable.Reverse(Systems).FirstOrDefault(s => phases.ContainsKey(s + "-max"));
        if (headline is null)
        {
            Console.WriteLine("observations_per_s=0 passthrough_ratio=0.000 p99_ms=0");
            return 1;
        }

        var top = phases[headline + "-max"];
        var latency = phases.GetValueOrDefault(headline + "-lat50") ?? LatencyPhases.Select(l => phases.GetValueOrDefault($"{headline}-{l}")).FirstOrDefault(x => x is not null);
        var ratio = passthrough is null ? 0 : top.ObservationsPerSecond / passthrough.ObservationsPerSecond;
        Console.WriteLine(string.Create(C, $"observations_per_s={Math.Round(top.ObservationsPerSecond):F0} passthrough_ratio={ratio:F3} p99_ms={latency?.LatencyP99Ms ?? 0}"));
        return 0;
    }

    /// <summary>The scale phase: each store from empty through ten tenths of one long stream, on one node.</summary>
    private static void AppendScale(StringBuilder text, string directory)
    {
        var runs = Systems
            .Select(system => (System: system, Tenths: Enumerable.Range(1, 10)
                .Select(i => Path.Combine(directory, $"scale-{system}-{i}.json"))
                .Where(File.Exists)
                .Select(Read<PhaseResult>)
                .ToList()))
            .Where(r => r.Tenths.Count > 0)
            .ToList();
        if (runs.Count == 0)
        {
            return;
        }

        text.AppendLine("## Scale: one long stream from an empty database");
        text.AppendLine();
        text.AppendLine("A fresh database and node per store, then the stream in ten consecutive tenths, each produced as fast as the consumer");
        text.AppendLine("group commits it. Throughput per tenth (does it hold as the journal and the index grow?), then the whole run: CPU per");
        text.AppendLine("observation by process, journal rows written per observation, and the node's peak RSS at the end.");
        text.AppendLine();
        text.AppendLine("| store | observations/s per tenth (1st … 10th) | last / first | serve CPU ms per obs | PostgreSQL CPU ms per obs | broker CPU ms per obs | journal rows written per obs | peak RSS (serve) | completed |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var (system, tenths) in runs)
        {
            var count = tenths.Sum(t => t.Count);
            double Ms(string process) => tenths.Sum(t => t.CpuSeconds.GetValueOrDefault(process)) * 1000 / count;
            var info = ReadDictionary(Path.Combine(directory, $"scale-system-{system}.json"));
            var storage = ReadDictionary(Path.Combine(directory, $"scale-storage-{system}.json"));
            var rss = info.TryGetValue("peakRssKb", out var kb) ? $"{kb.GetDouble() / 1024:N0} MiB" : "?";
            var rows = storage.TryGetValue("journalRowsWritten", out var r) ? (r.GetDouble() / count).ToString("F2", C) : "?";
            var first = tenths[0].ObservationsPerSecond;
            var last = tenths[^1].ObservationsPerSecond;
            text.AppendLine(C, $"| {system} ({count:N0}) | {string.Join(" · ", tenths.Select(t => t.ObservationsPerSecond.ToString("N0", C)))} | {(first > 0 ? (last / first).ToString("F2", C) : "—")} | {Ms("serve"):F3} | {(system == "postgres" ? Ms("postgres").ToString("F3", C) : "—")} | {Ms("broker"):F3} | {rows} | {rss} | {(tenths.Count == 10 && tenths.All(t => t.Completed) ? "yes" : "**no**")} |");
        }

        text.AppendLine();
        if (runs[0].Tenths[0].Workload is { Length: > 0 } workload)
        {
            text.AppendLine("Scale workload: `" + workload + "`");
            text.AppendLine();
        }

        foreach (var (system, _) in runs)
        {
            var storage = ReadDictionary(Path.Combine(directory, $"scale-storage-{system}.json"));
            if (storage.Count > 0)
            {
                text.Append(C, $"Journal after the {system} scale run: ").Append(string.Join(", ", storage.Select(s => $"{s.Key} {s.Value}"))).AppendLine(".");
            }
        }

        text.AppendLine();
    }

    private static string Latencies(Dictionary<string, PhaseResult> phases, string system) =>
        Latency(phases.GetValueOrDefault(system + "-lat50"));

    private static string Latency(PhaseResult? phase) =>
        phase is null ? "—" : string.Create(C, $"{phase.LatencyP50Ms} / {phase.LatencyP99Ms} / {phase.LatencyP999Ms} ({phase.TargetRate:N0}/s)");

    private static string Ratio(double value, PhaseResult? passthrough) =>
        passthrough is null || passthrough.ObservationsPerSecond <= 0 ? "—" : (value / passthrough.ObservationsPerSecond).ToString("F3", C);

    private static string OtherShare(PhaseResult phase) =>
        string.Create(C, $"{phase.OtherBusySeconds:F1} CPU-s of {phase.WallSeconds * Environment.ProcessorCount:F0}");

    private static T Read<T>(string file) => JsonSerializer.Deserialize<T>(File.ReadAllText(file)) ?? throw new InvalidDataException($"{file} is empty.");

    private static Dictionary<string, JsonElement> ReadDictionary(string file) =>
        File.Exists(file) ? JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(file)) ?? [] : [];

    private static string Text(string directory, string name)
    {
        var file = Path.Combine(directory, name);
        return File.Exists(file) ? File.ReadAllText(file) : "";
    }
}
