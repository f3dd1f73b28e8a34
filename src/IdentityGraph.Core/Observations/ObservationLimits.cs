namespace IdentityGraph.Core.Observations;

/// <summary>Bounds on one observation: they keep a single bad record from costing unbounded work or memory.</summary>
public sealed record ObservationLimits
{
    public int MaxRecordBytes { get; init; } = 1024 * 1024;

    public int MaxIdentifiers { get; init; } = 100;

    public int MaxConsents { get; init; } = 32;

    public int MaxAttributes { get; init; } = 64;

    public int MaxObservationIdLength { get; init; } = 256;

    public int MaxSourceLength { get; init; } = 128;

    public int MaxAttributeKeyLength { get; init; } = 64;

    public int MaxAttributeValueLength { get; init; } = 1024;

    /// <summary>How far in the future an event time may lie (producer clocks drift; a far-future time would win every "latest" rule).</summary>
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromDays(1);

    public static ObservationLimits Default { get; } = new();
}
