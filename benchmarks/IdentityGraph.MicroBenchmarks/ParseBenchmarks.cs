using BenchmarkDotNet.Attributes;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.MicroBenchmarks;

/// <summary>Reading a Kafka record value into an Observation (ObservationParser), protobuf binary and proto3 JSON.</summary>
[MemoryDiagnoser]
public class ParseBenchmarks
{
    private readonly byte[] protobuf = Samples.Protobuf(123);
    private readonly byte[] json = Samples.Json(123);

    [Benchmark]
    public ObservationParser.Result Protobuf() => ObservationParser.Parse(protobuf, null);

    [Benchmark]
    public ObservationParser.Result Json() => ObservationParser.Parse(json, "application/json");
}
