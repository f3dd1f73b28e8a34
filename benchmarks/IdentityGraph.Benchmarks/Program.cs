using System.Globalization;
using IdentityGraph.Server.Tests.Support;

// benchmarks generate --out FILE [--count N] [--customers N] [--seed N] [--household-rate R] [--malformed-rate R]
// benchmarks compare --in OBSERVATIONS --export EXPORT     (exit 0 when the export equals the reference partition)
// benchmarks e2e --bootstrap HOST:PORT --in OBSERVATIONS [--rate N] [--quiet-s S]   (against a running `identitygraph serve`)
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i]] = args[i + 1];
}

string Get(string name, string? fallback = null) =>
    options.TryGetValue(name, out var value) ? value : fallback ?? throw new ArgumentException($"{name} is required.");

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
    case "compare":
        var expected = PartitionFiles.Reference(Get("--in"));
        var actual = PartitionFiles.Export(File.ReadLines(Get("--export")));
        var equal = expected.SequenceEqual(actual);
        Console.WriteLine($"reference: {expected.Count} profiles; export: {actual.Count} profiles; equal: {(equal ? "yes" : "NO")}");
        return equal ? 0 : 1;
    case "e2e":
        return IdentityGraph.Benchmarks.EndToEnd.Run(
            Get("--bootstrap"), Get("--in"), Number("--rate", 0), TimeSpan.FromSeconds(Number("--quiet-s", 5)));
    default:
        Console.Error.WriteLine("usage: generate --out FILE [--count N] [--customers N] [--seed N] [--household-rate R] [--malformed-rate R]");
        Console.Error.WriteLine("       compare --in OBSERVATIONS --export EXPORT");
        Console.Error.WriteLine("       e2e --bootstrap HOST:PORT --in OBSERVATIONS [--rate N] [--quiet-s S]");
        return 2;
}
