using Akka.Actor;
using Akka.Configuration;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Cluster.Wire;
using IdentityGraph.Contracts.V1;

namespace IdentityGraph.MicroBenchmarks;

/// <summary>
/// GraphSerializer, the journal and remoting serializer: a profile-created event (5 identifiers), a repeat-visit
/// delta, and a snapshot of a 50-identifier profile, to bytes and back. The payloads are built with this assembly's
/// copy of the internal wire schema (WireMapping, the domain ↔ wire mapping, is internal to IdentityGraph.Cluster).
/// </summary>
[MemoryDiagnoser]
public class SerializerBenchmarks
{
    private ActorSystem system = null!;
    private GraphSerializer serializer = null!;
    private object created = null!;
    private object snapshot = null!;
    private byte[] createdBytes = [];
    private byte[] appliedBytes = [];
    private byte[] snapshotBytes = [];

    [GlobalSetup]
    public void Setup()
    {
        system = ActorSystem.Create("serializer-benchmark", ConfigurationFactory.ParseString("akka.loglevel = WARNING"));
        serializer = new GraphSerializer((ExtendedActorSystem)system);

        createdBytes = new ProfileCreatedEvent
        {
            ProfileId = "01JGZ5Q0000000000000000000",
            ObservationId = "bench-1",
            OccurredAt = Timestamp.FromDateTimeOffset(Samples.Start),
            Content = Content(5, evidence: true),
        }.ToByteArray();
        appliedBytes = new ObservationAppliedEvent
        {
            ObservationId = "bench-2",
            OccurredAt = Timestamp.FromDateTimeOffset(Samples.Start.AddHours(1)),
            Delta = Content(1, evidence: false),
        }.ToByteArray();
        snapshotBytes = new ProfileSnapshotData
        {
            ProfileId = "01JGZ5Q0000000000000000000",
            Version = 40,
            Status = ProfileStatusData.Active,
            Content = Content(50, evidence: true),
        }.ToByteArray();

        // The Cluster's own message objects, as the journal hands them over.
        created = serializer.FromBinary(createdBytes, "pc");
        snapshot = serializer.FromBinary(snapshotBytes, "ps");
    }

    [GlobalCleanup]
    public void Cleanup() => system.Terminate().Wait();

    [Benchmark]
    public byte[] ProfileCreatedToBinary() => serializer.ToBinary(created);

    [Benchmark]
    public object ProfileCreatedFromBinary() => serializer.FromBinary(createdBytes, "pc");

    [Benchmark]
    public object RepeatVisitDeltaFromBinary() => serializer.FromBinary(appliedBytes, "po");

    [Benchmark]
    public byte[] Snapshot50ToBinary() => serializer.ToBinary(snapshot);

    [Benchmark]
    public object Snapshot50FromBinary() => serializer.FromBinary(snapshotBytes, "ps");

    private static ProfileContentData Content(int identifiers, bool evidence)
    {
        var at = Timestamp.FromDateTimeOffset(Samples.Start);
        var content = new ProfileContentData { CreatedAt = at, UpdatedAt = at };
        var keys = Enumerable.Range(0, identifiers).Select(i => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)))).ToList();
        for (var i = 0; i < identifiers; i++)
        {
            content.Identifiers.Add(new IdentifierRecordData
            {
                Identifier = new IdentifierData { Key = keys[i], Type = IdentifierType.Email, Value = $"customer.{i}@shop.example.com" },
                FirstSeen = at,
                LastSeen = at,
                Channels = { Channel.Web, Channel.Store },
            });
        }

        if (evidence)
        {
            for (var i = 0; i + 4 < identifiers || i == 0; i += 5)
            {
                content.Evidence.Add(new LinkEvidenceData { ObservationId = $"bench-{i}", ObservedAt = at, Source = "pos", Channel = Channel.Store, Keys = { keys.Skip(i).Take(5) } });
            }
        }

        content.Consents.Add(new ConsentRecordData { Purpose = "marketing", Channel = ContactChannel.Email, Status = ConsentStatus.Granted, DecidedAt = at, ObservationId = "bench-1" });
        content.Attributes.Add(new AttributeRecordData { Key = "first_name", Value = "Name1", ObservedAt = at, ObservationId = "bench-1" });
        return content;
    }
}
