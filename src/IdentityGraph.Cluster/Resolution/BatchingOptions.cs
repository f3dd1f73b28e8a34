namespace IdentityGraph.Cluster.Resolution;

/// <summary>
/// How the resolver groups observations into micro-batches (docs/architecture.md › The route of an observation,
/// step 2). A batch starts as soon as a batch slot is free and takes what has arrived, up to <see cref="MaxSize"/>,
/// waiting at most <see cref="MaxWait"/> for more: under load batches fill up by themselves while earlier ones are
/// being written; a lone observation waits at most <see cref="MaxWait"/>.
/// </summary>
public sealed record BatchingOptions
{
    /// <summary>Most observations in one batch.</summary>
    public int MaxSize { get; init; } = 512;

    /// <summary>How long a batch that is not full waits for more observations before it starts.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Batches resolved at once (the next one forms while these are written).</summary>
    public int MaxInFlight { get; init; } = 4;

    /// <summary>Problems with these options, each naming the option; empty when they are valid.</summary>
    public IEnumerable<string> Validate(string prefix)
    {
        if (MaxSize is < 1 or > 100_000)
        {
            yield return $"{prefix}:MaxSize must be between 1 and 100000 (was {MaxSize}).";
        }

        if (MaxWait < TimeSpan.Zero || MaxWait > TimeSpan.FromSeconds(10))
        {
            yield return $"{prefix}:MaxWait must be between 0 and 10 s (was {MaxWait}).";
        }

        if (MaxInFlight is < 1 or > 64)
        {
            yield return $"{prefix}:MaxInFlight must be between 1 and 64 (was {MaxInFlight}).";
        }
    }
}
