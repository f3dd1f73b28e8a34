namespace IdentityGraph.Core.Profiles;

/// <summary>
/// The UTC-day granularity of a profile's "seen again" times (<see cref="IdentifierRecord.LastSeen"/>,
/// <see cref="ProfileContent.UpdatedAt"/>) and of the winner order of consents and attributes: a repeat visit on a day
/// the profile already records brings nothing new, so it writes nothing (docs/profile-merge-policy.md, "Repeat visits
/// write nothing").
/// </summary>
public static class UtcDay
{
    /// <summary>00:00:00 UTC of the UTC day that holds <paramref name="time"/> (whatever the offset it was given in).</summary>
    public static DateTimeOffset StartOf(DateTimeOffset time) =>
        new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerDay), TimeSpan.Zero);
}
