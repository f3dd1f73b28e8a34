using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using IdentityGraph.Cluster.Wire;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Serialization;

/// <summary>Profile content, events and snapshots.</summary>
internal static partial class WireMapping
{
    /// <param name="evidenceByIndex">Write evidence keys as positions among the identifiers where it can
    /// (<c>LinkEvidenceData.key_indexes</c>): for the form a slice holds and snapshots, not for messages.</param>
    public static ProfileContentData ToWire(ProfileContent content, bool evidenceByIndex = false)
    {
        var data = new ProfileContentData();
        var keys = evidenceByIndex && !content.Evidence.IsEmpty ? content.Identifiers.Keys.ToArray() : null;
        data.Identifiers.AddRange(content.Identifiers.Values.Select(r => new IdentifierRecordData
        {
            Identifier = new IdentifierData { Key = r.Key.Value, Type = r.Identifier.Type, Namespace = r.Identifier.Namespace, Value = r.Identifier.Value },
            FirstSeen = ToWire(r.FirstSeen),
            LastSeen = ToWire(r.LastSeen),
            Channels = { r.Channels },
        }));
        foreach (var e in content.Evidence.Values)
        {
            var evidence = new LinkEvidenceData { ObservationId = e.ObservationId, ObservedAt = ToWire(e.ObservedAt), Source = e.Source, Channel = e.Channel };
            if (keys is null || !AddIndexes(evidence.KeyIndexes, keys, e.Keys))
            {
                evidence.Keys.AddRange(e.Keys.Select(k => k.Value));
            }

            data.Evidence.Add(evidence);
        }

        data.Consents.AddRange(content.Consents.Values.Select(c => new ConsentRecordData
        {
            Purpose = c.Purpose,
            Channel = c.Channel,
            Status = c.Status,
            DecidedAt = ToWire(c.DecidedAt),
            ObservationId = c.ObservationId,
        }));
        data.Attributes.AddRange(content.Attributes.Values.Select(a => new AttributeRecordData
        {
            Key = a.Key,
            Value = a.Value,
            ObservedAt = ToWire(a.ObservedAt),
            ObservationId = a.ObservationId,
        }));
        data.MergedProfileIds.AddRange(content.MergedProfileIds.Select(p => p.Value));
        if (content.CreatedAt is { } created)
        {
            data.CreatedAt = ToWire(created);
        }

        if (content.UpdatedAt is { } updated)
        {
            data.UpdatedAt = ToWire(updated);
        }

        data.AttributeHorizon = content.AttributeHorizon ?? "";
        return data;
    }

    public static ProfileContent FromWire(ProfileContentData? data)
    {
        if (data is null)
        {
            return ProfileContent.Empty;
        }

        var identifiers = data.Identifiers.Select(r => new IdentifierRecord(
            new IdentifierKey(r.Identifier.Key),
            new NormalizedIdentifier(r.Identifier.Type, r.Identifier.Namespace, r.Identifier.Value),
            FromWire(r.FirstSeen),
            FromWire(r.LastSeen),
            ChannelSet.From(r.Channels))).ToImmutableSortedDictionary(r => r.Key, r => r);
        // Evidence names the profile's own identifiers: share their key strings instead of holding a copy of each.
        var evidence = data.Evidence.Select(e => new LinkEvidence(
            e.ObservationId,
            FromWire(e.ObservedAt),
            e.Source,
            e.Channel,
            e.Keys.Count > 0 || e.KeyIndexes.Count == 0
                ? [.. e.Keys.Select(k => Shared(identifiers, k))]
                : [.. e.KeyIndexes.Select(i => Shared(identifiers, KeyAt(data, i)))]));
        return new ProfileContent
        {
            Identifiers = identifiers,
            Evidence = evidence.ToImmutableSortedDictionary(e => e.KeySet, e => e),
            Consents = data.Consents
                .Select(c => new ConsentRecord(c.Purpose, c.Channel, c.Status, FromWire(c.DecidedAt), c.ObservationId))
                .ToImmutableSortedDictionary(c => c.Slot, c => c, StringComparer.Ordinal),
            Attributes = data.Attributes
                .Select(a => new AttributeRecord(a.Key, a.Value, FromWire(a.ObservedAt), a.ObservationId))
                .ToImmutableSortedDictionary(a => a.Key, a => a, StringComparer.Ordinal),
            MergedProfileIds = [.. data.MergedProfileIds.Select(ProfileId.Parse)],
            CreatedAt = data.CreatedAt is null ? null : FromWire(data.CreatedAt),
            UpdatedAt = data.UpdatedAt is null ? null : FromWire(data.UpdatedAt),
            AttributeHorizon = data.AttributeHorizon.Length == 0 ? null : data.AttributeHorizon,
        };
    }

    /// <summary>Adds the position of each key among <paramref name="identifiers"/> (sorted); false, leaving
    /// <paramref name="indexes"/> empty, when one is not there.</summary>
    private static bool AddIndexes(Google.Protobuf.Collections.RepeatedField<uint> indexes, IdentifierKey[] identifiers, ImmutableArray<IdentifierKey> keys)
    {
        foreach (var key in keys)
        {
            var position = Array.BinarySearch(identifiers, key);
            if (position < 0)
            {
                indexes.Clear();
                return false;
            }

            indexes.Add((uint)position);
        }

        return true;
    }

    private static string KeyAt(ProfileContentData data, uint index) =>
        index < data.Identifiers.Count
            ? data.Identifiers[(int)index].Identifier.Key
            : throw new InvalidDataException($"Link evidence names identifier {index} of a profile holding {data.Identifiers.Count}.");

    private static IdentifierKey Shared(ImmutableSortedDictionary<IdentifierKey, IdentifierRecord> identifiers, string key) =>
        identifiers.TryGetKey(new IdentifierKey(key), out var held) ? held : new IdentifierKey(key);

    public static IMessage ToWire(IProfileEvent domainEvent) => domainEvent switch
    {
        ProfileCreated e => new ProfileCreatedEvent { ObservationId = e.ObservationId, OccurredAt = ToWire(e.OccurredAt), Content = ToWire(e.Content) },
        ObservationApplied e => new ObservationAppliedEvent { ObservationId = e.ObservationId, OccurredAt = ToWire(e.OccurredAt), Delta = ToWire(e.Delta) },
        ProfileAbsorbed e => new ProfileAbsorbedEvent
        {
            AbsorbedProfileId = e.Absorbed.Value,
            ObservationId = e.ObservationId,
            OccurredAt = ToWire(e.OccurredAt),
            Delta = ToWire(e.Delta),
        },
        ProfileMergedAway e => new ProfileMergedAwayEvent
        {
            SurvivorProfileId = e.Survivor.Value,
            ObservationId = e.ObservationId,
            OccurredAt = ToWire(e.OccurredAt),
        },
        ProfileErased e => new ProfileErasedEvent { RequestId = e.RequestId, OccurredAt = ToWire(e.OccurredAt) },
        _ => throw new ArgumentException($"No wire form for {domainEvent.GetType().Name}.", nameof(domainEvent)),
    };

    /// <summary>A slice's record of one profile change: the published event (with its profile) and the domain event.</summary>
    public static ProfileChangeData ToChange(ProfileId id, IProfileEvent domainEvent, Contracts.V1.ProfileEvent published)
    {
        var change = new ProfileChangeData { ProfileId = id.Value, Published = published };
        switch (ToWire(domainEvent))
        {
            case ProfileCreatedEvent e: change.Created = e; break;
            case ObservationAppliedEvent e: change.Applied = e; break;
            case ProfileAbsorbedEvent e: change.Absorbed = e; break;
            case ProfileMergedAwayEvent e: change.MergedAway = e; break;
            case ProfileErasedEvent e: change.Erased = e; break;
        }

        return change;
    }

    /// <summary>The domain event of a slice's change record.</summary>
    public static IProfileEvent DomainEventOf(ProfileChangeData change)
    {
        ArgumentNullException.ThrowIfNull(change);
        IMessage message = change.ChangeCase switch
        {
            ProfileChangeData.ChangeOneofCase.Created => change.Created,
            ProfileChangeData.ChangeOneofCase.Applied => change.Applied,
            ProfileChangeData.ChangeOneofCase.Absorbed => change.Absorbed,
            ProfileChangeData.ChangeOneofCase.MergedAway => change.MergedAway,
            ProfileChangeData.ChangeOneofCase.Erased => change.Erased,
            _ => throw new InvalidOperationException($"A profile change of {change.ProfileId} holds no domain event."),
        };
        return FromWire(message);
    }

    public static IProfileEvent FromWire(IMessage message) =>
        TryFromWire(message, out var domainEvent)
            ? domainEvent
            : throw new ArgumentException($"{message.GetType().Name} is not a profile event.", nameof(message));

    public static bool TryFromWire(object message, [NotNullWhen(true)] out IProfileEvent? domainEvent)
    {
        domainEvent = message switch
        {
            ProfileCreatedEvent e => new ProfileCreated(e.ObservationId, FromWire(e.OccurredAt), FromWire(e.Content)),
            ObservationAppliedEvent e => new ObservationApplied(e.ObservationId, FromWire(e.OccurredAt), FromWire(e.Delta)),
            ProfileAbsorbedEvent e => new ProfileAbsorbed(ProfileId.Parse(e.AbsorbedProfileId), e.ObservationId, FromWire(e.OccurredAt), FromWire(e.Delta)),
            ProfileMergedAwayEvent e => new ProfileMergedAway(ProfileId.Parse(e.SurvivorProfileId), e.ObservationId, FromWire(e.OccurredAt)),
            ProfileErasedEvent e => new ProfileErased(e.RequestId, FromWire(e.OccurredAt)),
            _ => null,
        };
        return domainEvent is not null;
    }

    /// <summary>A profile's state as a slice holds it between uses and writes it into its snapshots: without the id
    /// (the slice keeps it beside), evidence by index.</summary>
    public static byte[] ToStoredBytes(ProfileState state) => ToWire(null, state, evidenceByIndex: true).ToByteArray();

    public static ProfileSnapshotData ToWire(ProfileId id, ProfileState state) => ToWire(id, state, evidenceByIndex: false);

    private static ProfileSnapshotData ToWire(ProfileId? id, ProfileState state, bool evidenceByIndex) => new()
    {
        ProfileId = id?.Value ?? "",
        Version = state.Version,
        Status = state.Status switch
        {
            ProfileStatus.Live => ProfileStatusData.Active,
            ProfileStatus.MergedAway => ProfileStatusData.MergedAway,
            ProfileStatus.Erased => ProfileStatusData.Erased,
            _ => ProfileStatusData.New,
        },
        MergedInto = state.MergedInto?.Value ?? "",
        Content = ToWire(state.Content, evidenceByIndex),
    };

    public static ProfileState FromWire(ProfileSnapshotData data) => new(
        data.Version,
        data.Status switch
        {
            ProfileStatusData.Active => ProfileStatus.Live,
            ProfileStatusData.MergedAway => ProfileStatus.MergedAway,
            ProfileStatusData.Erased => ProfileStatus.Erased,
            _ => ProfileStatus.Absent,
        },
        data.MergedInto.Length == 0 ? null : ProfileId.Parse(data.MergedInto),
        FromWire(data.Content));
}
