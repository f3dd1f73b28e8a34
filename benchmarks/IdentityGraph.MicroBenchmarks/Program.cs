using BenchmarkDotNet.Running;

// dotnet benchmarks/IdentityGraph.MicroBenchmarks/bin/Release/net10.0/IdentityGraph.MicroBenchmarks.dll [BenchmarkDotNet options]
// e.g. --filter '*' --inProcess --job short --join     (benchmarks/run.sh passes these; --job dry for --quick)
BenchmarkSwitcher.FromAssembly(typeof(IdentityGraph.MicroBenchmarks.Samples).Assembly).Run(args);
