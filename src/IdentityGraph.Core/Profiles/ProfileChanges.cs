using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Contracts.V1;
using ContractCreated = IdentityGraph.Contracts.V1.ProfileCreated;
using ContractErased = IdentityGraph.Contracts.V1.ProfileErased;
using ContractMergedAway = IdentityGraph.Contracts.V1.ProfileMergedAway;

namespace IdentityGraph.Core.Profiles;

/// <summary>
/// Maps one journal event of a profile to the public <see cref="ProfileEvent"/> published on
/// <c>identity.profile-events</c>. Pure: the state before and after the event say what changed.
/// </summary>
public static class ProfileChanges
{
    /// <summary>
    /// The public event for <paramref name="change"/>, which turned <paramref name="before"/> into <paramref name="after"/>
    /// (= <c>ProfileDecider.Apply(before, change)</c>). Its version is the profile's version after the change.
    /// </summary>
    public static ProfileEvent ToContract(ProfileId id, ProfileState before, IProfileEvent change, ProfileState after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(after);
        var published = new ProfileEvent { ProfileId = id.ToString(), Version = after.Version };
        switch (change)
        {
            case ProfileCreated e:
                Stamp(published, e.ObservationId, e.OccurredAt);
                published.Created = new ContractCreated();
                break;
            case ObservationApplied e:
                Stamp(published, e.ObservationId, e.OccurredAt);
                published.Updated = Updated(before.Content, after.Content);
                break;
            case ProfileAbsorbed e:
                Stamp(published, e.ObservationId, e.OccurredAt);
                published.Merged = new ProfilesMerged { AbsorbedProfileIds = { e.Absorbed.ToString() } };
                break;
            case ProfileMergedAway e:
                Stamp(published, e.ObservationId, e.OccurredAt);
                published.MergedAway = new ContractMergedAway();
                published.MergedInto = e.Survivor.ToString();
                break;
            case ProfileErased e:
                Stamp(published, e.RequestId, e.OccurredAt);
                published.Erased = new ContractErased();
                break;
            default:
                throw new ArgumentException($"Unknown profile event {change.GetType().Name}.", nameof(change));
        }

        if (after.Status == ProfileStatus.Live)
        {
            published.Profile = ProfileSnapshots.ToContract(id, after);
        }

        return published;
    }

    /// <summary>True when the profile no longer exists on its own after this event (its compacted record is a tombstone).</summary>
    public static bool EndsProfile(IProfileEvent change) => change is ProfileMergedAway or ProfileErased;

    private static void Stamp(ProfileEvent published, string observationId, DateTimeOffset occurredAt)
    {
        published.ObservationId = observationId;
        published.OccurredAt = Timestamp.FromDateTimeOffset(occurredAt);
    }

    private static ProfileUpdated Updated(ProfileContent before, ProfileContent after)
    {
        var updated = new ProfileUpdated();
        updated.IdentifiersLinked.AddRange(after.Identifiers
            .Where(pair => !before.Identifiers.ContainsKey(pair.Key))
            .Select(pair => pair.Value)
            .OrderBy(r => r.Identifier.Type)
            .ThenBy(r => r.Identifier.Namespace, StringComparer.Ordinal)
            .ThenBy(r => r.Identifier.Value, StringComparer.Ordinal)
            .Select(ProfileSnapshots.ToContract));
        updated.ConsentsChanged.AddRange(after.Consents
            .Where(pair => !before.Consents.TryGetValue(pair.Key, out var old) || old != pair.Value)
            .Select(pair => pair.Value)
            .OrderBy(c => c.Purpose, StringComparer.Ordinal)
            .ThenBy(c => c.Channel)
            .Select(ProfileSnapshots.ToContract));
        // Attributes are keyed by their own key (sorted ordinal), so the order is already the contract's.
        updated.AttributesChanged.AddRange(after.Attributes
            .Where(pair => !before.Attributes.TryGetValue(pair.Key, out var old) || old.Value != pair.Value.Value)
            .Select(pair => pair.Key));
        return updated;
    }
}
