using BenchmarkDotNet.Attributes;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Resolution;

namespace IdentityGraph.MicroBenchmarks;

/// <summary>The Core reference union-find (the algorithm's ceiling, baseline B2 without parsing): per observation.</summary>
[MemoryDiagnoser]
public class ResolverBenchmarks
{
    private const int Batch = 10_000;
    private NormalizedObservation[] observations = [];

    [GlobalSetup]
    public void Setup() =>
        // 2,000 customers seen 5 times each: most observations find their identifiers already known.
        observations = [.. Enumerable.Range(0, Batch).Select(i => Samples.Normalized(i % 2_000))];

    [Benchmark(OperationsPerInvoke = Batch)]
    public int UnionFindPerObservation()
    {
        var resolver = new ReferenceResolver();
        foreach (var observation in observations)
        {
            resolver.Add(observation);
        }

        return resolver.Count;
    }
}
