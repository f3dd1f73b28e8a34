using System.Collections.Immutable;
using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Cluster.Wire;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Cluster.Serialization;

/// <summary>Maps the pure domain (Core) to the internal wire schema and back. Lossless: FromWire(ToWire(x)) == x.</summary>
internal static partial class WireMapping
{
    public static Timestamp ToWire(DateTimeOffset time) => Timestamp.FromDateTimeOffset(time);

    public static DateTimeOffset FromWire(Timestamp? time) =>
        time is null ? DateTimeOffset.UnixEpoch : time.ToDateTimeOffset();

    public static IdentifierData ToWire(KeyedIdentifier identifier) => new()
    {
        Key = identifier.Key.Value,
        Type = identifier.Identifier.Type,
        Namespace = identifier.Identifier.Namespace,
        Value = identifier.Identifier.Value,
    };

    public static KeyedIdentifier FromWire(IdentifierData data) =>
        new(new IdentifierKey(data.Key), new NormalizedIdentifier(data.Type, data.Namespace, data.Value));

    public static NormalizedObservationData ToWire(NormalizedObservation observation)
    {
        var data = new NormalizedObservationData
        {
            ObservationId = observation.ObservationId,
            Source = observation.Source,
            Channel = observation.Channel,
            ObservedAt = ToWire(observation.ObservedAt),
        };
        data.Identifiers.AddRange(observation.Identifiers.Select(ToWire));
        data.Consents.AddRange(observation.Consents.Select(c => new ConsentChoiceData
        {
            Purpose = c.Purpose,
            Channel = c.Channel,
            Status = c.Status,
            DecidedAt = ToWire(c.DecidedAt),
        }));
        foreach (var (key, value) in observation.Attributes)
        {
            data.Attributes[key] = value;
        }

        return data;
    }

    /// <summary>The observation as the graph needs it; dropped identifiers are not carried (they were counted at the edge).</summary>
    public static NormalizedObservation FromWire(NormalizedObservationData data) => new(
        data.ObservationId,
        data.Source,
        data.Channel,
        FromWire(data.ObservedAt),
        [.. data.Identifiers.Select(FromWire)],
        [.. data.Consents.Select(c => new ConsentChoice(c.Purpose, c.Channel, c.Status, FromWire(c.DecidedAt)))],
        data.Attributes.ToImmutableSortedDictionary(StringComparer.Ordinal),
        []);
}
