using IdentityGraph.Core.Observations;

namespace IdentityGraph.Cluster.Wire;

/// <summary>
/// The observations of a batch as the resolver holds them. Most slices live on the resolver's node, where a message is
/// passed by reference: converting every observation to its wire form and back there cost about 3 % of a node's
/// allocation. So the resolver sends <see cref="Local"/> only, and <see cref="Serialization.GraphSerializer"/> writes
/// the wire form when the message does leave the node. Not part of the message's equality or clone.
/// </summary>
internal sealed partial class ObserveProfileBatch
{
    internal IReadOnlyList<NormalizedObservation>? Local { get; set; }

    /// <summary>The observations, from <see cref="Local"/> when set, else decoded from the wire form.</summary>
    internal IReadOnlyList<NormalizedObservation> ObservationsToDecide() =>
        Local ?? [.. Observations.Select(Serialization.WireMapping.FromWire)];

    /// <summary>This batch as it travels: the wire form written from <see cref="Local"/> when only that is set.</summary>
    internal ObserveProfileBatch ForTheWire()
    {
        if (Local is null || Observations.Count > 0)
        {
            return this;
        }

        var wire = new ObserveProfileBatch { ProfileId = ProfileId };
        wire.Observations.AddRange(Local.Select(Serialization.WireMapping.ToWire));
        return wire;
    }
}

/// <summary>See <see cref="ObserveProfileBatch"/>.</summary>
internal sealed partial class ObserveProfiles
{
    /// <summary>This message as it travels (<see cref="ObserveProfileBatch.ForTheWire"/>); itself when nothing is local-only.</summary>
    internal ObserveProfiles ForTheWire()
    {
        if (Targets.All(t => t.Local is null || t.Observations.Count > 0))
        {
            return this;
        }

        var wire = new ObserveProfiles { Slice = Slice };
        wire.Targets.AddRange(Targets.Select(t => t.ForTheWire()));
        return wire;
    }
}
