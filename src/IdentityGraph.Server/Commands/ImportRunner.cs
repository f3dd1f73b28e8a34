using System.Diagnostics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using IdentityGraph.Cluster.Pipeline;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;

namespace IdentityGraph.Server.Commands;

/// <summary>How far an import has read: bytes of the input (lines when it cannot seek) and lines.</summary>
public readonly record struct ImportProgress(long BytesRead, long Lines);

/// <summary>What an import did.</summary>
public sealed record ImportSummary(
    long Observations,
    long Created,
    long Linked,
    long Merged,
    long ProfilesMerged,
    long NothingNew,
    long Rejected,
    long Failed,
    long DroppedIdentifiers,
    TimeSpan Elapsed,
    string? FirstFailure = null)
{
    /// <summary>Observations per second, over every line read.</summary>
    public double Rate => Elapsed.TotalSeconds > 0 ? Observations / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Feeds a file of proto3 JSON observations (one per line, the Kafka JSON format) through the one
/// <see cref="ObservationPipeline"/> with bounded concurrency. Refused lines and observations (validation, a profile
/// limit) go to the rejects file with their error code and never stop the run; observations whose retries ran out are
/// counted as failed. Every resolve is idempotent, so importing the same file again changes nothing, and a killed
/// import is completed by running it again.
/// </summary>
public sealed class ImportRunner(IdentityResolver resolver, int parallelism = ImportRunner.DefaultParallelism)
{
    /// <summary>
    /// Observations in flight at once: enough to fill the node's micro-batches while earlier ones are written (1,024
    /// against 256 imported 400,000 observations 1.2 times faster on PostgreSQL and 1.3 times on SQLite, with no more
    /// memory; benchmarks/README.md › Import concurrency).
    /// </summary>
    public const int DefaultParallelism = 1024;

    /// <summary>A resolve that fails (time-out, overload) is tried this often, with the pipeline's back-off, before it counts as failed.</summary>
    public const int Attempts = 3;

    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Every failed attempt counts: an import has no journal gate, and a failure is reported for a re-run.</summary>
    private static readonly RetryPolicy Retry = new(Attempts);

    private readonly ObservationPipeline pipeline = new(resolver);

    /// <summary>Imports <paramref name="input"/>; <paramref name="progress"/> hears how far the reading has got.</summary>
    public async Task<ImportSummary> RunAsync(
        Stream input, TextWriter rejects, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(rejects);
        var clock = Stopwatch.StartNew();
        var counts = new long[Enum.GetValues<Counter>().Length];
        using var slots = new SemaphoreSlim(parallelism);
        var running = new List<Task>();
        string? firstFailure = null;

        // Lines refused by validation are written here; observations the graph refuses (a profile limit) from their tasks.
        using var rejectsGate = new SemaphoreSlim(1);
        async Task Reject(long number, ValidationError error, string line)
        {
            Interlocked.Increment(ref counts[(int)Counter.Rejected]);
            await rejectsGate.WaitAsync(cancellationToken);
            try
            {
                await rejects.WriteLineAsync(RejectLine(number, error, line).AsMemory(), cancellationToken);
            }
            finally
            {
                rejectsGate.Release();
            }
        }

        using var reader = new StreamReader(input, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        long lineNumber = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            Interlocked.Increment(ref counts[(int)Counter.Observations]);
            var prepared = pipeline.Prepare(line);
            if (prepared is Prepared.Refused refused)
            {
                await Reject(lineNumber, refused.Error, line);
                continue;
            }

            await slots.WaitAsync(cancellationToken);
            var number = lineNumber;
            running.Add(ResolveAsync(
                ((Prepared.Ready)prepared).Observation, counts, slots, e => Reject(number, e, line),
                e => Interlocked.CompareExchange(ref firstFailure, $"{e.GetType().Name}: {e.Message}", null), cancellationToken));
            if (running.Count >= parallelism * 4)
            {
                running.RemoveAll(t => t.IsCompleted);
            }

            if (lineNumber % 256 == 0)
            {
                progress?.Report(new ImportProgress(input.CanSeek ? input.Position : lineNumber, lineNumber));
            }
        }

        await Task.WhenAll(running);
        await rejects.FlushAsync(cancellationToken);
        progress?.Report(new ImportProgress(input.CanSeek ? input.Length : lineNumber, lineNumber));

        long Get(Counter c) => Interlocked.Read(ref counts[(int)c]);
        return new ImportSummary(
            Get(Counter.Observations), Get(Counter.Created), Get(Counter.Linked), Get(Counter.Merged), Get(Counter.ProfilesMerged),
            Get(Counter.NothingNew), Get(Counter.Rejected), Get(Counter.Failed), Get(Counter.Dropped), clock.Elapsed, firstFailure);
    }

    private async Task ResolveAsync(
        NormalizedObservation observation,
        long[] counts,
        SemaphoreSlim slots,
        Func<ValidationError, Task> reject,
        Action<Exception> failed,
        CancellationToken cancellationToken)
    {
        try
        {
            Interlocked.Add(ref counts[(int)Counter.Dropped], observation.Dropped.Count);
            switch (await pipeline.ResolveAsync(observation, Retry, cancellationToken))
            {
                case PipelineOutcome.Resolved resolved:
                    Interlocked.Increment(ref counts[(int)(resolved.Result.Outcome switch
                    {
                        ResolveOutcome.Created => Counter.Created,
                        ResolveOutcome.Linked => Counter.Linked,
                        ResolveOutcome.Merged => Counter.Merged,
                        _ => Counter.NothingNew,
                    })]);
                    Interlocked.Add(ref counts[(int)Counter.ProfilesMerged], resolved.Result.ProfilesMerged);
                    break;
                case PipelineOutcome.Refused refused:
                    // Refused by the graph (a profile limit): as final as a validation error, and nothing was written.
                    await reject(refused.Error);
                    break;
                case PipelineOutcome.GaveUp gaveUp:
                    Interlocked.Increment(ref counts[(int)Counter.Failed]);
                    failed(gaveUp.Error);
                    break;
                default:
                    throw new UnreachableException();
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Writing its reject failed: the observation is reported as not done, so a re-run completes it.
            Interlocked.Increment(ref counts[(int)Counter.Failed]);
            failed(e);
        }
        finally
        {
            slots.Release();
        }
    }

    private static string RejectLine(long lineNumber, ValidationError error, string input) =>
        JsonSerializer.Serialize(
            // A card number a producer wrongly sent is masked: the rejects file must not keep it (docs/error-codes.md).
            new RejectRecord(lineNumber, new RejectError(error.Code, error.Message), CardNumberRedaction.Redact(input)), JsonOptions);

    private enum Counter
    {
        Observations,
        Created,
        Linked,
        Merged,
        ProfilesMerged,
        NothingNew,
        Rejected,
        Failed,
        Dropped,
    }

    private sealed record RejectError(
        [property: System.Text.Json.Serialization.JsonPropertyName("code")] string Code,
        [property: System.Text.Json.Serialization.JsonPropertyName("message")] string Message);

    private sealed record RejectRecord(
        [property: System.Text.Json.Serialization.JsonPropertyName("line")] long Line,
        [property: System.Text.Json.Serialization.JsonPropertyName("error")] RejectError Error,
        [property: System.Text.Json.Serialization.JsonPropertyName("input")] string Input);
}
