using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Cluster.Pipeline;

/// <summary>An input after parse → validate → normalise: ready to resolve, or refused for good.</summary>
public abstract record Prepared
{
    private protected Prepared()
    {
    }

    /// <summary>A valid observation, normalised; the identifiers it dropped are in <see cref="Dropped"/>.</summary>
    public sealed record Ready(NormalizedObservation Observation) : Prepared
    {
        /// <summary>Invalid identifiers left out of an otherwise valid observation, with their codes.</summary>
        public IReadOnlyList<DroppedIdentifier> Dropped => Observation.Dropped;
    }

    /// <summary>A permanent refusal: the input can never become a valid observation, so it is never retried.</summary>
    public sealed record Refused(ValidationError Error) : Prepared;
}

/// <summary>What resolving one observation through the pipeline came to.</summary>
public abstract record PipelineOutcome
{
    private protected PipelineOutcome()
    {
    }

    /// <summary>Every effect is durable.</summary>
    public sealed record Resolved(ResolveResult Result) : PipelineOutcome;

    /// <summary>
    /// A permanent refusal by the graph (a profile limit, <c>profile.identifier_limit</c>): nothing was written for it,
    /// and it was not retried.
    /// </summary>
    public sealed record Refused(ValidationError Error) : PipelineOutcome;

    /// <summary>
    /// Transient failures used up <see cref="RetryPolicy.MaxAttempts"/> counted attempts; <paramref name="Error"/> is
    /// the last one. Resolving it again later is safe: every step is idempotent.
    /// </summary>
    /// <param name="Attempts">The counted attempts (those the policy's hook did not count are not included).</param>
    public sealed record GaveUp(Exception Error, int Attempts) : PipelineOutcome;
}

/// <summary>
/// The one route of an observation into the graph, shared by the Kafka ingestion and <c>identitygraph import</c>:
/// parse (protobuf or proto3 JSON) → validate and normalise (Core) → resolve (<see cref="IdentityResolver"/>) with one
/// <see cref="RetryPolicy"/>. Outcomes are typed: a permanent refusal (<see cref="Prepared.Refused"/>,
/// <see cref="PipelineOutcome.Refused"/>) is never retried; a transient failure is retried with back-off until the
/// policy's bound (<see cref="PipelineOutcome.GaveUp"/>). What the caller does with each outcome (dead letters, offsets,
/// a rejects file, counters) stays with the caller.
/// </summary>
public sealed class ObservationPipeline(IdentityResolver resolver, ObservationLimits? limits = null)
{
    private readonly ObservationLimits limits = limits ?? ObservationLimits.Default;
    private long resolved;

    public IdentityResolver Resolver { get; } = resolver ?? throw new ArgumentNullException(nameof(resolver));

    /// <summary>Observations resolved through this pipeline so far.</summary>
    public long ResolvedCount => Interlocked.Read(ref resolved);

    /// <summary>
    /// Prepares a record value: protobuf binary, or proto3 JSON when <paramref name="contentType"/> says JSON or the
    /// value starts with <c>{</c>; a record without a value (a tombstone) is refused with <c>observation.empty</c>.
    /// </summary>
    public Prepared Prepare(byte[]? value, string? contentType) =>
        value is null
            ? new Prepared.Refused(new ValidationError(ObservationErrorCodes.Empty, "The record has no value."))
            : Prepare(value.AsSpan(), contentType);

    /// <summary>Prepares a record value (see <see cref="Prepare(byte[], string)"/>), within the parse limits.</summary>
    public Prepared Prepare(ReadOnlySpan<byte> value, string? contentType)
    {
        var parsed = ObservationParser.Parse(value, contentType, limits);
        return parsed.IsValid ? Normalize(parsed.Observation!) : new Prepared.Refused(parsed.Error!);
    }

    /// <summary>Prepares one line of proto3 JSON (the import file format, the Kafka JSON format).</summary>
    public Prepared Prepare(string jsonLine)
    {
        var parsed = ObservationParser.ParseJson(jsonLine);
        return parsed.IsValid ? Normalize(parsed.Observation!) : new Prepared.Refused(parsed.Error!);
    }

    /// <summary>
    /// Resolves until durable, a permanent refusal, or the policy's bound. A failed attempt is retried after the
    /// policy's back-off (at once with a fresh back-off after a hold); it counts against the observation when the
    /// policy's <see cref="RetryPolicy.Counts"/> says so, and after <see cref="RetryPolicy.MaxAttempts"/> counted
    /// attempts the outcome is <see cref="PipelineOutcome.GaveUp"/>. <paramref name="cancellationToken"/> ends it with
    /// an exception, not an outcome.
    /// </summary>
    public async Task<PipelineOutcome> ResolveAsync(NormalizedObservation observation, RetryPolicy policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(policy);
        var counted = 0;
        var backoff = 0;
        var resolvedBefore = ResolvedCount;
        for (var attempt = 1; ; attempt++)
        {
            if (policy.Hold is { } hold)
            {
                await hold.WaitAsync(cancellationToken);
            }

            using var attemptToken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, policy.Hold?.AttemptToken ?? CancellationToken.None);
            try
            {
                var result = await Resolver.ResolveAsync(observation, attemptToken.Token);
                Interlocked.Increment(ref resolved);
                return new PipelineOutcome.Resolved(result);
            }
            catch (ObservationRejectedException e)
            {
                return new PipelineOutcome.Refused(e.Error);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                var resolvedNow = ResolvedCount;
                var failure = new FailedAttempt(observation, e, attempt, resolvedNow - resolvedBefore, attemptToken.IsCancellationRequested);
                resolvedBefore = resolvedNow;
                var counts = policy.Counts is null || await policy.Counts(failure, cancellationToken);
                if (counts)
                {
                    counted++;
                }

                var givesUp = counts && counted >= policy.MaxAttempts;
                // Held (e.g. the journal is down): wait for the hold at the top of the loop, then retry at once and
                // back off afresh.
                var held = !givesUp && policy.Hold is { IsHeld: true };
                var retryIn = givesUp || held ? (TimeSpan?)null : policy.Backoff.For(++backoff);
                if (held)
                {
                    backoff = 0;
                }

                policy.Failed?.Invoke(failure, new RetryDecision(counts, counted, givesUp, retryIn));
                if (givesUp)
                {
                    return new PipelineOutcome.GaveUp(e, counted);
                }

                if (retryIn is { } delay)
                {
                    await Task.Delay(delay, cancellationToken);
                }
            }
        }
    }

    private Prepared Normalize(Contracts.V1.Observation observation)
    {
        var normalized = Resolver.Normalizer.Normalize(observation);
        return normalized.IsValid ? new Prepared.Ready(normalized.Observation!) : new Prepared.Refused(normalized.Error!);
    }
}
