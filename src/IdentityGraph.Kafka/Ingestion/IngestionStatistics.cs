using System.Collections.Concurrent;
using IdentityGraph.Cluster.Resolution;

namespace IdentityGraph.Kafka.Ingestion;

/// <summary>Running totals of the ingestion on this node, read by the summary, the logs and the metrics.</summary>
public sealed class IngestionStatistics
{
    private readonly long[] outcomes = new long[Enum.GetValues<ResolveOutcome>().Length];
    private readonly ConcurrentDictionary<string, long> deadLetters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> droppedIdentifiers = new(StringComparer.Ordinal);
    private long received;
    private long profilesMerged;
    private long retries;

    /// <summary>Records read from the input topics.</summary>
    public long Received => Interlocked.Read(ref received);

    /// <summary>Observations resolved durably, by outcome.</summary>
    public long Resolved(ResolveOutcome outcome) => Interlocked.Read(ref outcomes[(int)outcome]);

    /// <summary>Observations resolved durably, all outcomes.</summary>
    public long ResolvedTotal => Enum.GetValues<ResolveOutcome>().Sum(Resolved);

    /// <summary>Profiles retired into a survivor by merges.</summary>
    public long ProfilesMerged => Interlocked.Read(ref profilesMerged);

    /// <summary>Resolve attempts that failed transiently and were retried.</summary>
    public long Retries => Interlocked.Read(ref retries);

    /// <summary>Dead letters delivered, by error code.</summary>
    public IReadOnlyDictionary<string, long> DeadLetters => deadLetters;

    /// <summary>Dead letters delivered, all codes.</summary>
    public long DeadLettersTotal => deadLetters.Values.Sum();

    /// <summary>Invalid identifiers dropped from otherwise valid observations, by error code.</summary>
    public IReadOnlyDictionary<string, long> DroppedIdentifiers => droppedIdentifiers;

    internal void RecordReceived() => Interlocked.Increment(ref received);

    internal void RecordResolved(ResolveResult result)
    {
        Interlocked.Increment(ref outcomes[(int)result.Outcome]);
        Interlocked.Add(ref profilesMerged, result.ProfilesMerged);
    }

    internal void RecordRetry() => Interlocked.Increment(ref retries);

    internal void RecordDeadLetter(string code) => deadLetters.AddOrUpdate(code, 1, (_, n) => n + 1);

    internal void RecordDroppedIdentifier(string code) => droppedIdentifiers.AddOrUpdate(code, 1, (_, n) => n + 1);
}
