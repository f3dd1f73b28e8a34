using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Contracts.V1;

namespace IdentityGraph.Core.Profiles;

/// <summary>Maps a profile's state to the public <see cref="Profile"/> contract.</summary>
public static class ProfileSnapshots
{
    public static Profile ToContract(ProfileId id, ProfileState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var content = state.Content;
        var profile = new Profile { ProfileId = id.ToString(), Version = state.Version };
        // The contract orders identifiers by type, namespace, value and consents by purpose then channel; the content is
        // keyed by pseudonymous identifier key and by slot string, which sort differently.
        profile.Identifiers.AddRange(content.Identifiers.Values
            .OrderBy(r => r.Identifier.Type)
            .ThenBy(r => r.Identifier.Namespace, StringComparer.Ordinal)
            .ThenBy(r => r.Identifier.Value, StringComparer.Ordinal)
            .Select(ToContract));
        profile.MergedProfileIds.AddRange(content.MergedProfileIds.Select(p => p.ToString()));
        profile.Consents.AddRange(content.Consents.Values.OrderBy(c => c.Purpose, StringComparer.Ordinal).ThenBy(c => c.Channel).Select(ToContract));
        foreach (var attribute in content.Attributes.Values)
        {
            profile.Attributes[attribute.Key] = attribute.Value;
        }

        if (content.CreatedAt is { } created)
        {
            profile.CreatedAt = Timestamp.FromDateTimeOffset(created);
        }

        if (content.UpdatedAt is { } updated)
        {
            profile.UpdatedAt = Timestamp.FromDateTimeOffset(updated);
        }

        return profile;
    }

    public static ProfileIdentifier ToContract(IdentifierRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var identifier = new ProfileIdentifier
        {
            Type = record.Identifier.Type,
            Value = record.Identifier.Value,
            Namespace = record.Identifier.Namespace,
            FirstSeen = Timestamp.FromDateTimeOffset(record.FirstSeen),
            LastSeen = Timestamp.FromDateTimeOffset(record.LastSeen),
        };
        identifier.Channels.AddRange(record.Channels);
        return identifier;
    }

    public static ProfileConsent ToContract(ConsentRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new ProfileConsent
        {
            Purpose = record.Purpose,
            Channel = record.Channel,
            Status = record.Status,
            DecidedAt = Timestamp.FromDateTimeOffset(record.DecidedAt),
            ObservationId = record.ObservationId,
        };
    }
}
