using System.Collections;
using System.Collections.Immutable;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using IdentityGraph.Cluster.Serialization;
using IdentityGraph.Cluster.Wire;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Profiles;
using ProfileCreated = IdentityGraph.Core.Profiles.ProfileCreated;
using ProfileErased = IdentityGraph.Core.Profiles.ProfileErased;
using ProfileMergedAway = IdentityGraph.Core.Profiles.ProfileMergedAway;

namespace IdentityGraph.Cluster.Tests.Serialization;

/// <summary>
/// The production serializer inside a real actor system: every registered message is bound to it and survives a
/// round trip by manifest; and the Core ↔ wire mapping is lossless for content, events and snapshots.
/// </summary>
public sealed class GraphSerializerTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly ActorSystem system = ActorSystem.Create(
        "serializer-tests",
        ConfigurationFactory.ParseString(GraphSerializer.Hocon + "\nakka.loglevel = WARNING\nakka.stdout-loglevel = WARNING"));

    public static TheoryData<string> ManifestTypes => [.. GraphSerializer.Manifests.Keys.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(ManifestTypes))]
    public void Every_registered_message_round_trips_through_akka_serialization(string typeName)
    {
        var type = GraphSerializer.Manifests.Keys.Single(t => t.Name == typeName);
        var message = Filled(type);
        if (message.Descriptor.Fields.InDeclarationOrder().Count > 0)
        {
            Assert.NotEqual(message.Descriptor.Parser.ParseFrom(ByteString.Empty), message);
        }

        var serializer = system.Serialization.FindSerializerFor(message);
        Assert.IsType<GraphSerializer>(serializer);
        Assert.Equal(GraphSerializer.SerializerId, serializer.Identifier);
        Assert.Equal(7101, serializer.Identifier);

        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        Assert.Equal(GraphSerializer.Manifests[type], manifest);

        var bytes = serializer.ToBinary(message);
        var back = system.Serialization.Deserialize(bytes, serializer.Identifier, manifest);

        Assert.IsType(type, back);
        Assert.Equal(message, back);
    }

    [Fact]
    public void Manifests_are_unique_short_codes_and_never_clr_type_names()
    {
        var manifests = GraphSerializer.Manifests.Values.ToList();
        Assert.Equal(manifests.Count, manifests.Distinct(StringComparer.Ordinal).Count());
        Assert.All(GraphSerializer.Manifests, pair =>
        {
            var (type, manifest) = pair;
            Assert.False(string.IsNullOrWhiteSpace(manifest));
            Assert.DoesNotContain(type.Name, manifest, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("IdentityGraph", manifest, StringComparison.OrdinalIgnoreCase);
            Assert.Null(Type.GetType(manifest, throwOnError: false));
            Assert.Null(typeof(GraphSerializer).Assembly.GetType(manifest, throwOnError: false));
        });
    }

    [Fact]
    public void Every_persisted_event_and_the_snapshot_have_a_manifest()
    {
        var persisted = GraphReflection.Descriptor.MessageTypes
            .Where(d => d.Name.EndsWith("Event", StringComparison.Ordinal) || d.Name == nameof(ProfileSnapshotData))
            .Select(d => d.ClrType)
            .ToList();
        Assert.NotEmpty(persisted);
        Assert.All(persisted, t => Assert.True(GraphSerializer.Manifests.ContainsKey(t), $"{t.Name} has no manifest"));
    }

    [Fact]
    public void An_unknown_manifest_throws_a_serialization_exception()
    {
        var serializer = system.Serialization.FindSerializerFor(new StopEntity());
        var bytes = serializer.ToBinary(new LookupOwners { Slice = "64-1", Keys = { "k" } });

        Assert.Throws<SerializationException>(() => system.Serialization.Deserialize(bytes, GraphSerializer.SerializerId, "no-such-manifest"));
        Assert.Throws<SerializationException>(() => ((GraphSerializer)serializer).FromBinary(bytes, "x.lookup.v2"));
    }

    [Fact]
    public void Profile_content_round_trips_through_the_wire_mapping()
    {
        var content = RichContent();
        Assert.Equal(content, WireMapping.FromWire(WireMapping.ToWire(content)));
        Assert.Equal(ProfileContent.Empty, WireMapping.FromWire(WireMapping.ToWire(ProfileContent.Empty)));

        // And through the bytes the journal stores.
        var bytes = WireMapping.ToWire(content).ToByteArray();
        Assert.Equal(content, WireMapping.FromWire(ProfileContentData.Parser.ParseFrom(bytes)));
    }

    [Fact]
    public void A_held_profile_names_its_evidence_keys_by_position_and_reads_back_the_same()
    {
        var content = RichContent();
        var stray = new LinkEvidence("obs-9", T0.AddHours(1), "web", Channel.Web, [new IdentifierKey("a1"), new IdentifierKey("zz-not-held")]);
        content = content with { Evidence = content.Evidence.Add(stray.KeySet, stray) };
        var state = new ProfileState(5, ProfileStatus.Live, null, content);

        var stored = ProfileSnapshotData.Parser.ParseFrom(WireMapping.ToStoredBytes(state));

        Assert.Equal(state, WireMapping.FromWire(stored));
        Assert.Equal("", stored.ProfileId); // the slice keeps the id beside the bytes
        var byIndex = stored.Content.Evidence.Single(e => e.ObservationId != "obs-9");
        Assert.Empty(byIndex.Keys);
        Assert.Equal([0u, 1u], byIndex.KeyIndexes);
        // A key that is not one of the profile's identifiers is written out, as in messages.
        var written = stored.Content.Evidence.Single(e => e.ObservationId == "obs-9");
        Assert.Equal(["a1", "zz-not-held"], written.Keys);
        Assert.Empty(written.KeyIndexes);
        // Messages between nodes keep the keys.
        Assert.All(WireMapping.ToWire(ProfileId.For("obs-1", T0), state).Content.Evidence, e => Assert.Empty(e.KeyIndexes));
    }

    [Fact]
    public void A_batch_sent_with_local_observations_only_travels_with_their_wire_form()
    {
        var observation = new IdentityGraph.Core.Observations.NormalizedObservation(
            "obs-1", "pos", Channel.Store, T0, [new(new IdentifierKey("k1"), new NormalizedIdentifier(IdentifierType.Email, "", "ann@example.com"))],
            [], new Dictionary<string, string> { ["city"] = "Aarhus" }, []);
        var message = new ObserveProfiles { Slice = "16-3" };
        message.Targets.Add(new ObserveProfileBatch { ProfileId = "p1", Local = [observation] });
        var serializer = system.Serialization.FindSerializerFor(message);

        var back = (ObserveProfiles)system.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, "s.observe");

        var target = Assert.Single(back.Targets);
        Assert.Equal("p1", target.ProfileId);
        Assert.Null(target.Local);
        Assert.Equal(WireMapping.ToWire(observation), Assert.Single(target.Observations));
        Assert.Empty(message.Targets[0].Observations); // the message sent is not changed
        Assert.Same(observation, Assert.Single(message.Targets[0].ObservationsToDecide()));
    }

    [Fact]
    public void Evidence_naming_an_identifier_the_profile_does_not_hold_is_refused_on_read()
    {
        var stored = ProfileSnapshotData.Parser.ParseFrom(WireMapping.ToStoredBytes(new ProfileState(5, ProfileStatus.Live, null, RichContent())));
        stored.Content.Evidence[0].KeyIndexes[1] = 7;
        Assert.Throws<InvalidDataException>(() => WireMapping.FromWire(stored));
    }

    public static TheoryData<string> EventKinds => [nameof(ProfileCreated), nameof(ObservationApplied), nameof(ProfileAbsorbed), nameof(ProfileMergedAway), nameof(ProfileErased)];

    [Theory]
    [MemberData(nameof(EventKinds))]
    public void Each_profile_event_round_trips_through_the_wire_mapping_and_the_serializer(string kind)
    {
        var domainEvent = Events().Single(e => e.GetType().Name == kind);

        var wire = WireMapping.ToWire(domainEvent);
        Assert.Equal(domainEvent, WireMapping.FromWire(wire));

        var serializer = system.Serialization.FindSerializerFor(wire);
        Assert.IsType<GraphSerializer>(serializer);
        var back = (IMessage)system.Serialization.Deserialize(
            serializer.ToBinary(wire), serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, wire));
        Assert.Equal(domainEvent, WireMapping.FromWire(back));
    }

    public static TheoryData<string> SnapshotKinds => [.. Enum.GetNames<ProfileStatus>()];

    [Theory]
    [MemberData(nameof(SnapshotKinds))]
    public void Snapshots_round_trip_through_the_wire_mapping_and_the_serializer(string status)
    {
        var id = ProfileId.For("obs-snapshot", T0);
        var state = Enum.Parse<ProfileStatus>(status) switch
        {
            ProfileStatus.Live => new ProfileState(17, ProfileStatus.Live, null, RichContent()),
            ProfileStatus.MergedAway => new ProfileState(18, ProfileStatus.MergedAway, ProfileId.For("older", T0.AddDays(-1)), ProfileContent.Empty),
            ProfileStatus.Erased => new ProfileState(19, ProfileStatus.Erased, null, ProfileContent.Empty),
            _ => ProfileState.Empty,
        };

        var wire = WireMapping.ToWire(id, state);
        Assert.Equal(id.Value, wire.ProfileId);
        Assert.Equal(state, WireMapping.FromWire(wire));

        var serializer = system.Serialization.FindSerializerFor(wire);
        Assert.IsType<GraphSerializer>(serializer);
        var back = (ProfileSnapshotData)system.Serialization.Deserialize(serializer.ToBinary(wire), serializer.Identifier, "ps");
        Assert.Equal(state, WireMapping.FromWire(back));
    }

    public void Dispose() => system.Terminate().Wait(TimeSpan.FromSeconds(10));

    private static IReadOnlyList<IProfileEvent> Events() =>
    [
        new ProfileCreated("obs-1", T0, RichContent()),
        new ObservationApplied("obs-2", T0.AddMinutes(1), RichContent() with { MergedProfileIds = [] }),
        new ProfileAbsorbed(ProfileId.For("obs-9", T0.AddHours(1)), "obs-3", T0.AddMinutes(2), RichContent()),
        new ProfileMergedAway(ProfileId.For("obs-0", T0.AddHours(-1)), "obs-4", T0.AddMinutes(3)),
        new ProfileErased("erase-1", T0.AddDays(1)),
    ];

    /// <summary>Content with every part set, sub-second times and more than one entry per collection.</summary>
    private static ProfileContent RichContent()
    {
        var email = new IdentifierRecord(
            new IdentifierKey("a1"), new NormalizedIdentifier(IdentifierType.Email, "", "ann@example.com"),
            T0, T0.AddTicks(1_234_567), [Channel.Web, Channel.Email]);
        var card = new IdentifierRecord(
            new IdentifierKey("b2"), new NormalizedIdentifier(IdentifierType.MembershipCard, "club", "C123"),
            T0.AddSeconds(5), T0.AddDays(3), [Channel.Store]);
        var evidence = new LinkEvidence("obs-1", T0.AddMilliseconds(250), "pos-042", Channel.Store, [email.Key, card.Key]);
        var consent = new ConsentRecord("marketing", ContactChannel.Email, ConsentStatus.Granted, T0.AddMinutes(7), "obs-1");
        var denied = new ConsentRecord("profiling", ContactChannel.Sms, ConsentStatus.Denied, T0.AddMinutes(8), "obs-2");
        var city = new AttributeRecord("city", "Aarhus", T0.AddSeconds(1), "obs-1");
        var name = new AttributeRecord("first_name", "Ann", T0.AddSeconds(2), "obs-2");
        return new ProfileContent
        {
            Identifiers = ImmutableSortedDictionary.CreateRange([new(email.Key, email), new KeyValuePair<IdentifierKey, IdentifierRecord>(card.Key, card)]),
            Evidence = ImmutableSortedDictionary.CreateRange([new KeyValuePair<LinkedKeys, LinkEvidence>(evidence.KeySet, evidence)]),
            Consents = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [new(consent.Slot, consent), new KeyValuePair<string, ConsentRecord>(denied.Slot, denied)]),
            Attributes = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [new(city.Key, city), new KeyValuePair<string, AttributeRecord>(name.Key, name)]),
            MergedProfileIds = [ProfileId.For("obs-7", T0.AddHours(2)), ProfileId.For("obs-8", T0.AddHours(3))],
            CreatedAt = T0,
            UpdatedAt = T0.AddDays(3),
            AttributeHorizon = "first_name",
        };
    }

    /// <summary>A message of <paramref name="type"/> with every field (recursively) set to a non-default value.</summary>
    private static IMessage Filled(System.Type type)
    {
        var descriptor = (MessageDescriptor)type.GetProperty("Descriptor")!.GetValue(null)!;
        return Fill(descriptor, 1);
    }

    private static IMessage Fill(MessageDescriptor descriptor, int seed)
    {
        var message = descriptor.Parser.ParseFrom(ByteString.Empty);
        if (descriptor.FullName == Google.Protobuf.WellKnownTypes.Timestamp.Descriptor.FullName)
        {
            return Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(T0.AddSeconds(seed).AddTicks(seed * 10));
        }

        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            var value = seed * 100 + field.FieldNumber;
            if (field.IsMap)
            {
                var map = (IDictionary)field.Accessor.GetValue(message);
                var keyField = field.MessageType.FindFieldByNumber(1);
                var valueField = field.MessageType.FindFieldByNumber(2);
                map.Add(Scalar(keyField, value), Scalar(valueField, value + 1));
                map.Add(Scalar(keyField, value + 2), Scalar(valueField, value + 3));
            }
            else if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                list.Add(Scalar(field, value));
                list.Add(Scalar(field, value + 1));
            }
            else
            {
                field.Accessor.SetValue(message, Scalar(field, value));
            }
        }

        return message;
    }

    private static object Scalar(FieldDescriptor field, int value) => field.FieldType switch
    {
        FieldType.String => $"{field.Name}-{value}",
        FieldType.Bool => true,
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => (long)value,
        FieldType.UInt64 or FieldType.Fixed64 => (ulong)value,
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => value,
        FieldType.UInt32 or FieldType.Fixed32 => (uint)value,
        FieldType.Double => value + 0.5,
        FieldType.Float => value + 0.5f,
        FieldType.Bytes => ByteString.CopyFromUtf8($"{field.Name}-{value}"),
        // Nested messages multiply the seed, which can overflow to a negative value: the index is taken non-negative.
        FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, field.EnumType.Values[1 + (int)((uint)value % (uint)(field.EnumType.Values.Count - 1))].Number),
        FieldType.Message => Fill(field.MessageType, value),
        _ => throw new NotSupportedException($"{field.FullName}: {field.FieldType}"),
    };
}
