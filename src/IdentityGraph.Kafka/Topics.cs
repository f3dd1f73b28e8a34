namespace IdentityGraph.Kafka;

/// <summary>The default topic names (docs/design.md › Contracts). Other tools rely on them: never rename one.</summary>
public static class Topics
{
    /// <summary>Input: observations from the channel systems (protobuf or proto3 JSON).</summary>
    public const string Observations = "identity.observations";

    /// <summary>Observations that could not be used, with the original bytes and the reason in headers.</summary>
    public const string DeadLetters = "identity.observations.dlq";

    /// <summary>Changelog of profiles: one <c>ProfileEvent</c> per change, key = profile id.</summary>
    public const string ProfileEvents = "identity.profile-events";

    /// <summary>Compacted latest <c>Profile</c> per id; a tombstone once a profile is merged away or erased.</summary>
    public const string Profiles = "identity.profiles";

    /// <summary>
    /// Profile events and snapshots the outbox could not publish (larger than the broker accepts, or refused for good),
    /// with the reason in headers; the outbox moves on instead of stalling every profile behind one record.
    /// </summary>
    public const string ProfileEventsDeadLetters = "identity.profile-events.dlq";

    /// <summary>Every default topic, in the order above.</summary>
    public static IReadOnlyList<string> All { get; } = [Observations, DeadLetters, ProfileEvents, Profiles, ProfileEventsDeadLetters];
}
