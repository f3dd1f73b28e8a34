using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Server.Tests.Support;

namespace IdentityGraph.Benchmarks;

/// <summary>What <c>verify-stream</c> found; <see cref="Lost"/> must be 0.</summary>
public sealed record VerificationResult
{
    public long Records { get; init; }

    public int ReferenceProfiles { get; init; }

    public int ReferenceIdentifiers { get; init; }

    public int ViewProfiles { get; init; }

    public bool ViewEqualsReference { get; init; }

    /// <summary>Identifiers of the reference that no live profile of the downstream view holds.</summary>
    public int ViewMissingIdentifiers { get; init; }

    public int ExportProfiles { get; init; }

    public bool ExportEqualsReference { get; init; }

    /// <summary>Identifiers of the reference that no exported profile holds.</summary>
    public int ExportMissingIdentifiers { get; init; }

    public long ProfileEvents { get; init; }

    public long DistinctProfileEvents { get; init; }

    /// <summary>Versions missing from profiles' changelogs (1…latest per profile must all be there).</summary>
    public long MissingVersions { get; init; }

    public int MalformedRecords { get; init; }

    public long DeadLetters { get; init; }

    /// <summary>Refused records that are not on the dead-letter topic.</summary>
    public int MissingDeadLetters { get; init; }

    /// <summary>Dead letters of records that the reference accepts (valid records refused).</summary>
    public int UnexpectedDeadLetters { get; init; }

    /// <summary>True when the dev broker dropped output records (it keeps 5 MiB per partition): the topic checks are then incomplete.</summary>
    public bool OutputTruncated { get; init; }

    public double WaitedSeconds { get; init; }

    public long Lost => ViewMissingIdentifiers + ExportMissingIdentifiers + MissingVersions + MissingDeadLetters;

    public bool Passed => Lost == 0 && ViewEqualsReference && ExportEqualsReference && UnexpectedDeadLetters == 0 && !OutputTruncated;
}

/// <summary>
/// Checks that nothing of records 0…count−1 of the stream was lost, from the outside: the downstream view built from
/// <c>identity.profile-events</c> and the export equal the reference partition, every profile's changelog has every
/// version from 1 to its latest, and every record ingestion refuses is on the dead-letter topic (found by the index
/// header that <c>load --index-header 1</c> sets). Polls the topics until they agree or the wait is over.
/// </summary>
public static class StreamVerification
{
    /// <summary>Header with the record's index in the stream, set by <c>load --index-header 1</c>.</summary>
    public const string IndexHeader = "workload.index";

    private static readonly TimeSpan ReadLimit = TimeSpan.FromMinutes(2);
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static int Run(string bootstrap, WorkloadOptions workload, long count, string exportFile, TimeSpan wait, string? summaryFile)
    {
        var (reference, _, refused) = Baselines.StreamReference(workload, count);
        var referenceIdentifiers = Identifiers(reference);
        var export = PartitionFiles.Export(File.ReadLines(exportFile).Where(l => l.Length > 0));

        var clock = Stopwatch.StartNew();
        VerificationResult result;
        while (true)
        {
            result = Check(bootstrap, count, reference, referenceIdentifiers, refused, export) with { WaitedSeconds = Math.Round(clock.Elapsed.TotalSeconds, 1) };
            if (result.Passed || clock.Elapsed > wait)
            {
                break;
            }

            Thread.Sleep(5000);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"verify: records={result.Records} reference_profiles={result.ReferenceProfiles} view_profiles={result.ViewProfiles} view_equal={Yes(result.ViewEqualsReference)} " +
            $"export_profiles={result.ExportProfiles} export_equal={Yes(result.ExportEqualsReference)} profile_events={result.ProfileEvents} " +
            $"(distinct {result.DistinctProfileEvents}) missing_versions={result.MissingVersions} malformed={result.MalformedRecords} dead_letters={result.DeadLetters} " +
            $"missing_dead_letters={result.MissingDeadLetters} unexpected_dead_letters={result.UnexpectedDeadLetters} output_truncated={Yes(result.OutputTruncated)} " +
            $"lost={result.Lost} waited_s={result.WaitedSeconds:F1}"));
        if (summaryFile is not null)
        {
            File.WriteAllText(summaryFile, JsonSerializer.Serialize(result, Indented));
        }

        return result.Passed ? 0 : 1;
    }

    private static VerificationResult Check(
        string bootstrap, long count, List<string> reference, HashSet<string> referenceIdentifiers, List<long> refused, List<string> export)
    {
        var (events, eventsTruncated) = TopicReader.ReadAll<Ignore>(bootstrap, "identity.profile-events", ReadLimit);
        var (letters, lettersTruncated) = TopicReader.ReadAll<Ignore>(bootstrap, "identity.observations.dlq", ReadLimit);

        var changes = events.Where(r => r.Message.Value is not null).Select(r => ProfileEvent.Parser.ParseFrom(r.Message.Value)).ToList();
        var latest = new Dictionary<string, ProfileEvent>(StringComparer.Ordinal);
        foreach (var change in changes.Where(c => !latest.TryGetValue(c.ProfileId, out var seen) || seen.Version < c.Version))
        {
            latest[change.ProfileId] = change;
        }

        var view = PartitionFiles.Canonical(latest.Values
            .Where(e => e.Profile is not null)
            .Select(e => e.Profile.Identifiers.Select(i => $"{IdentifierTypes.ShortName(i.Type)}|{i.Namespace}|{i.Value}")));
        var missingVersions = changes.GroupBy(c => c.ProfileId)
            .Sum(g => g.Max(c => c.Version) - g.Select(c => c.Version).Distinct().Count());

        var lettered = letters
            .Select(r => r.Message.Headers?.FirstOrDefault(h => h.Key == IndexHeader) is { } header
                ? long.Parse(Encoding.ASCII.GetString(header.GetValueBytes()), CultureInfo.InvariantCulture)
                : -1)
            .ToHashSet();
        var expectedLetters = refused.ToHashSet();

        return new VerificationResult
        {
            Records = count,
            ReferenceProfiles = reference.Count,
            ReferenceIdentifiers = referenceIdentifiers.Count,
            ViewProfiles = view.Count,
            ViewEqualsReference = view.SequenceEqual(reference),
            ViewMissingIdentifiers = referenceIdentifiers.Except(Identifiers(view)).Count(),
            ExportProfiles = export.Count,
            ExportEqualsReference = export.SequenceEqual(reference),
            ExportMissingIdentifiers = referenceIdentifiers.Except(Identifiers(export)).Count(),
            ProfileEvents = changes.Count,
            DistinctProfileEvents = changes.Select(c => (c.ProfileId, c.Version)).Distinct().Count(),
            MissingVersions = missingVersions,
            MalformedRecords = refused.Count,
            DeadLetters = letters.Count,
            MissingDeadLetters = expectedLetters.Count(i => !lettered.Contains(i)),
            UnexpectedDeadLetters = lettered.Count(i => !expectedLetters.Contains(i)),
            OutputTruncated = eventsTruncated || lettersTruncated,
        };
    }

    private static HashSet<string> Identifiers(IEnumerable<string> partition) =>
        partition.SelectMany(group => group.Split(' ')).ToHashSet(StringComparer.Ordinal);

    private static string Yes(bool value) => value ? "yes" : "NO";
}
