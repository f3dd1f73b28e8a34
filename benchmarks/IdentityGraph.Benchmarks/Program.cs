using System.Globalization;
using System.Text;
using Google.Protobuf;
using IdentityGraph.Benchmarks;
using IdentityGraph.Server.Tests.Support;

// The load tool of benchmarks/run.sh; every command is documented in benchmarks/README.md.
// benchmarks generate --out FILE [--count N] [--customers N] [--seed N] [--household-rate R] [--malformed-rate R]   (the tests' generator)
// benchmarks generate-workload --out FILE --count N [workload options]      (the load benchmark's stream as proto3 JSON lines)
// benchmarks compare --in OBSERVATIONS --export EXPORT     (exit 0 when the export equals the reference partition)
// benchmarks compare-stream --count N --export EXPORT [--summary FILE] [workload options]
// benchmarks e2e --bootstrap HOST:PORT --in OBSERVATIONS [--rate N] [--quiet-s S]   (against a running `identitygraph serve`)
// benchmarks load --bootstrap HOST:PORT --from N --count N [--rate R] [--name NAME] [--output-topic T] [--output profile-event|observation]
//                 [--group G] [--max-lag N] [--timeout-s S] [--watch name=PID,...] [--summary FILE] [--index-header 1] [workload options]
// benchmarks verify-stream --bootstrap HOST:PORT --count N --export EXPORT [--wait-s S] [--summary FILE] [workload options]   (benchmarks/chaos.sh)
// benchmarks passthrough --bootstrap HOST:PORT [--output-topic T] [--group G]
// benchmarks baselines --count N [--postgres CONNECTION] [--summary FILE] [workload options]
// benchmarks storage --persistence SPEC [--summary FILE]
// benchmarks journal-cost --persistence SPEC [--slices N] [--rows N] [--summary FILE]   (the identifier-index prototype)
// benchmarks report --dir RUN_DIR --out RESULTS.md
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i]] = args[i + 1];
}

string Get(string name, string? fallback = null) =>
    options.TryGetValue(name, out var value) ? value : fallback ?? throw new ArgumentException($"{name} is required.");

string? Optional(string name) => options.GetValueOrDefault(name);

double Number(string name, double fallback) => double.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

switch (args.FirstOrDefault())
{
    case "generate":
        var count = (int)Number("--count", 100_000);
        new ObservationGenerator(
                seed: (int)Number("--seed", 1),
                customers: (int)Number("--customers", count / 3),
                householdLinkRate: Number("--household-rate", 0.05),
                malformedRate: Number("--malformed-rate", 0))
            .WriteFile(Get("--out"), count);
        Console.WriteLine($"wrote {count} observations to {Get("--out")}");
        return 0;
    case "generate-workload":
        return GenerateWorkload(WorkloadOptions.From(options), (long)Number("--count", 100_000), Get("--out"));
    case "compare":
        var expected = PartitionFiles.Reference(Get("--in"));
        var actual = PartitionFiles.Export(File.ReadLines(Get("--export")));
        var equal = expected.SequenceEqual(actual);
        Console.WriteLine($"reference: {expected.Count} profiles; export: {actual.Count} profiles; equal: {(equal ? "yes" : "NO")}");
        return equal ? 0 : 1;
    case "compare-stream":
        return Baselines.CompareStream(WorkloadOptions.From(options), (long)Number("--count", 0), Get("--export"), Optional("--summary"));
    case "e2e":
        return EndToEnd.Run(
            Get("--bootstrap"), Get("--in"), Number("--rate", 0), TimeSpan.FromSeconds(Number("--quiet-s", 5)));
    case "load":
        return Load.Run(new Load.Settings(
            Bootstrap: Get("--bootstrap"),
            Name: Get("--name", "load"),
            Workload: WorkloadOptions.From(options),
            From: (long)Number("--from", 0),
            Count: (long)Number("--count", 10_000),
            Rate: Number("--rate", 0),
            OutputTopic: Get("--output-topic", "identity.profile-events"),
            OutputIsObservation: Get("--output", "profile-event") == "observation",
            Group: Get("--group", "identitygraph"),
            MaxLag: (long)Number("--max-lag", 20_000),
            Timeout: TimeSpan.FromSeconds(Number("--timeout-s", 900)),
            WatchPids: Watch(Optional("--watch")),
            SummaryFile: Optional("--summary"),
            IndexHeader: Number("--index-header", 0) != 0));
    case "verify-stream":
        return StreamVerification.Run(
            Get("--bootstrap"), WorkloadOptions.From(options), (long)Number("--count", 0), Get("--export"), TimeSpan.FromSeconds(Number("--wait-s", 0)), Optional("--summary"));
    case "passthrough":
        return Passthrough.Run(Get("--bootstrap"), "identity.observations", Get("--output-topic", "identity.profile-events"), Get("--group", "bench-passthrough"));
    case "baselines":
        return Baselines.Run(WorkloadOptions.From(options), (long)Number("--count", 10_000), Optional("--postgres"), Optional("--summary"));
    case "storage":
        return StorageStats.Run(Get("--persistence"), Optional("--summary"));
    case "journal-cost":
        return JournalCost.Run(Get("--persistence"), (int)Number("--slices", 8), (long)Number("--rows", 100_000), Optional("--summary"));
    case "report":
        return Report.Run(Get("--dir"), Get("--out"));
    default:
        Console.Error.WriteLine("usage: generate --out FILE [--count N] [--customers N] [--seed N] [--household-rate R] [--malformed-rate R]");
        Console.Error.WriteLine("       generate-workload --out FILE --count N [workload options]");
        Console.Error.WriteLine("       compare --in OBSERVATIONS --export EXPORT");
        Console.Error.WriteLine("       compare-stream --count N --export EXPORT [--summary FILE] [workload options]");
        Console.Error.WriteLine("       e2e --bootstrap HOST:PORT --in OBSERVATIONS [--rate N] [--quiet-s S]");
        Console.Error.WriteLine("       load --bootstrap HOST:PORT --from N --count N [--rate R] [--name NAME] [--output-topic T] [--output profile-event|observation] [--group G] [--max-lag N] [--timeout-s S] [--watch name=PID,...] [--summary FILE] [--index-header 1] [workload options]");
        Console.Error.WriteLine("       verify-stream --bootstrap HOST:PORT --count N --export EXPORT [--wait-s S] [--summary FILE] [workload options]");
        Console.Error.WriteLine("       passthrough --bootstrap HOST:PORT [--output-topic T] [--group G]");
        Console.Error.WriteLine("       baselines --count N [--postgres CONNECTION] [--summary FILE] [workload options]");
        Console.Error.WriteLine("       storage --persistence SPEC [--summary FILE]");
        Console.Error.WriteLine("       journal-cost --persistence SPEC [--slices N] [--rows N] [--summary FILE]");
        Console.Error.WriteLine("       report --dir RUN_DIR --out RESULTS.md");
        Console.Error.WriteLine("workload options: " + string.Join(' ', WorkloadOptions.Names.Keys.Select(n => n + " V")));
        return 2;
}

static Dictionary<string, int> Watch(string? spec) =>
    string.IsNullOrWhiteSpace(spec)
        ? []
        : spec.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('='))
            .ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);

static int GenerateWorkload(WorkloadOptions workload, long count, string file)
{
    var statistics = new WorkloadStatistics();
    using var writer = new StreamWriter(file, append: false, new UTF8Encoding(false));
    foreach (var record in WorkloadGenerator.Range(workload, 0, count))
    {
        statistics.Add(record);
        string line;
        if (record.Json)
        {
            line = Encoding.UTF8.GetString(record.Value);
        }
        else
        {
            try
            {
                line = JsonFormatter.Default.Format(IdentityGraph.Contracts.V1.Observation.Parser.ParseFrom(record.Value));
            }
            catch (InvalidProtocolBufferException)
            {
                line = "{\"broken\": "; // a record that is not an observation stays one that is not
            }
        }

        writer.WriteLine(line);
    }

    Console.WriteLine($"wrote {count} records to {file}: {statistics}");
    return 0;
}
