using System.Collections.Frozen;
using Akka.Actor;
using Akka.Serialization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Tests.Infrastructure;

/// <summary>
/// Test-only serializer for the internal protobuf schema (graph.proto): manifest = the message's full protobuf name.
/// Lets the persistence tests journal real Wire events before the production serializer is bound.
/// </summary>
public sealed class TestProtobufSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 9_901;

    public static readonly string Hocon = $$"""
        akka.actor {
          serializers.test-protobuf = "{{typeof(TestProtobufSerializer).FullName}}, {{typeof(TestProtobufSerializer).Assembly.GetName().Name}}"
          serialization-bindings { "Google.Protobuf.IMessage, Google.Protobuf" = test-protobuf }
        }
        """;

    private static readonly FrozenDictionary<string, MessageParser> Parsers =
        GraphReflection.Descriptor.MessageTypes.ToFrozenDictionary(d => d.FullName, d => d.Parser);

    public override int Identifier => Id;

    public override string Manifest(object o) => ((IMessage)o).Descriptor.FullName;

    public override byte[] ToBinary(object obj) => ((IMessage)obj).ToByteArray();

    public override object FromBinary(byte[] bytes, string manifest) =>
        Parsers.TryGetValue(manifest, out var parser)
            ? parser.ParseFrom(bytes)
            : throw new System.Runtime.Serialization.SerializationException($"Unknown protobuf manifest '{manifest}'.");
}
