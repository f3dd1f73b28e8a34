using System.Collections.Frozen;
using Akka.Actor;
using Akka.Serialization;
using Google.Protobuf;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Serialization;

/// <summary>
/// Protobuf serializer for every persisted event, snapshot and entity message of the graph. Manifests are short,
/// stable codes (never CLR type names), so types can be renamed or moved without breaking the journal.
/// A manifest is never reused for another message.
/// </summary>
public sealed class GraphSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>The serializer id; ids up to 100 are Akka's own.</summary>
    public const int SerializerId = 7101;

    /// <summary>HOCON that registers this serializer for every message in <see cref="Manifests"/>.</summary>
    public static string Hocon => BuildHocon();

    /// <summary>Manifest per message type. Append only.</summary>
    internal static FrozenDictionary<Type, string> Manifests { get; } = new Dictionary<Type, string>
    {
        // persisted by the entity per profile (before the profile slices); kept to recognise such a database
        [typeof(ProfileCreatedEvent)] = "pc",
        [typeof(ObservationAppliedEvent)] = "po",
        [typeof(ProfileAbsorbedEvent)] = "pa",
        [typeof(ProfileMergedAwayEvent)] = "pm",
        [typeof(ProfileErasedEvent)] = "pe",
        [typeof(ProfileSnapshotData)] = "ps",
        // persisted by the entity per identifier (before the index slices); kept to recognise such a database
        [typeof(IdentifierOwnerSetEvent)] = "io",
        // (retired with the entity per identifier and the single observation message, never to be reused:
        // "i.get", "i.claim", "i.repoint", "i.owner", "p.observe", "p.observed")
        // (retired with the entity per profile, never to be reused: "p.merge", "p.merged", "p.root?", "p.state?")
        [typeof(AbsorbProfile)] = "p.absorb",
        [typeof(AbsorbResult)] = "p.absorbed",
        [typeof(ProfileRoot)] = "p.root",
        [typeof(StopEntity)] = "stop",
        // persisted: identifier index slices
        [typeof(IndexChangedEvent)] = "xc",
        [typeof(IndexSnapshotData)] = "xs",
        // identifier index slice messages
        [typeof(LookupOwners)] = "x.lookup",
        [typeof(ClaimOwners)] = "x.claim",
        [typeof(RepointOwners)] = "x.repoint",
        [typeof(OwnersAnswer)] = "x.owners",
        [typeof(ObserveProfileBatch)] = "p.observe*",
        [typeof(ObserveBatchResult)] = "p.observed*",
        // persisted: profile slices
        [typeof(ProfileSliceChangedEvent)] = "sc",
        [typeof(ProfileSliceSnapshotData)] = "ss",
        // profile slice messages
        [typeof(ObserveProfiles)] = "s.observe",
        [typeof(ObserveProfilesResult)] = "s.observed",
        [typeof(GetProfileRoots)] = "s.roots?",
        [typeof(ProfileRoots)] = "s.roots",
        [typeof(AbsorbInSlice)] = "s.absorb",
        [typeof(ReadForMerge)] = "s.read",
        [typeof(MergeContent)] = "s.content",
        [typeof(RetireProfile)] = "s.retire",
        [typeof(RetireResult)] = "s.retired",
        [typeof(GetSliceProfileState)] = "s.state?",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, MessageParser> Parsers = Manifests.ToFrozenDictionary(
        p => p.Value,
        p => (MessageParser)p.Key.GetProperty("Parser")!.GetValue(null)!);

    public override int Identifier => SerializerId;

    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"GraphSerializer has no manifest for {o.GetType()}; add one to Manifests.", nameof(o));

    public override byte[] ToBinary(object obj) =>
        obj is IMessage message && Manifests.ContainsKey(obj.GetType())
            ? message switch
            {
                // Sent with the resolver's observations only (ObserveProfileBatch.Local): their wire form is written now.
                ObserveProfiles m => m.ForTheWire().ToByteArray(),
                ObserveProfileBatch m => m.ForTheWire().ToByteArray(),
                _ => message.ToByteArray(),
            }
            : throw new ArgumentException($"GraphSerializer cannot serialize {obj.GetType()}.", nameof(obj));

    public override object FromBinary(byte[] bytes, string manifest) =>
        Parsers.TryGetValue(manifest, out var parser)
            ? parser.ParseFrom(bytes)
            : throw new System.Runtime.Serialization.SerializationException($"Unknown GraphSerializer manifest '{manifest}'.");

    private static string BuildHocon()
    {
        var bindings = string.Join(
            Environment.NewLine,
            Manifests.Keys.Select(t => $"      \"{t.FullName}, {t.Assembly.GetName().Name}\" = identitygraph"));
        return $$"""
            akka.actor {
              serializers.identitygraph = "{{typeof(GraphSerializer).FullName}}, {{typeof(GraphSerializer).Assembly.GetName().Name}}"
              serialization-identifiers."{{typeof(GraphSerializer).FullName}}, {{typeof(GraphSerializer).Assembly.GetName().Name}}" = {{SerializerId}}
              serialization-bindings {
            {{bindings}}
              }
            }
            """;
    }
}
