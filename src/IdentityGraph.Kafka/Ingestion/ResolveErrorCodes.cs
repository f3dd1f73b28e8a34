namespace IdentityGraph.Kafka.Ingestion;

/// <summary>Dead-letter codes of observations that were valid but could not be resolved (docs/error-codes.md).</summary>
public static class ResolveErrorCodes
{
    /// <summary>
    /// Resolving kept failing while other observations were resolved (<c>IdentityGraph:Kafka:Ingestion:MaxAttempts</c>
    /// attempts); the message holds the last error.
    /// </summary>
    public const string ResolveFailed = "observation.resolve_failed";
}
