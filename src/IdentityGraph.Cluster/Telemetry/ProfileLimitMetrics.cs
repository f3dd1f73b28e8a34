using System.Diagnostics.Metrics;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Telemetry;

/// <summary>
/// What the profile limits refused, by reason: observations refused by the identifier limit, attribute keys left out
/// by the attribute limit. A static meter, because the refusals happen inside entities and the resolver, which have no
/// container; exported with the other graph metrics (same meter name).
/// </summary>
public static class ProfileLimitMetrics
{
    private static readonly Meter Meter = new(GraphTelemetry.MeterName);

    private static readonly Counter<long> Refusals = Meter.CreateCounter<long>(
        "identitygraph.profile_limit.refusals",
        "{refusal}",
        "Refused by a profile limit, by reason: profile.identifier_limit counts observations, profile.attribute_limit attribute keys.");

    /// <summary>An observation was refused because it would grow a profile beyond its identifier limit.</summary>
    public static void ObservationRefused() =>
        Refusals.Add(1, new KeyValuePair<string, object?>("reason", ProfileLimits.IdentifierLimitCode));

    /// <summary>A profile left out <paramref name="count"/> attribute keys (none: nothing is recorded).</summary>
    public static void AttributesDropped(int count)
    {
        if (count > 0)
        {
            Refusals.Add(count, new KeyValuePair<string, object?>("reason", ProfileLimits.AttributeLimitCode));
        }
    }
}
