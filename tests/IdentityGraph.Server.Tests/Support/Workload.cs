using System.Text;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Kafka.Ingestion;

namespace IdentityGraph.Server.Tests.Support;

/// <summary>
/// A generated observation stream for the out-of-process tests (its lines written to a file in the rig's directory),
/// produced with kcat, and the checks that the cluster said exactly what the reference says afterwards: the downstream
/// view rebuilt from <c>identity.profile-events</c> and <c>identitygraph export</c> equal the Core reference partition,
/// every profile's versions are complete on the changelog, and the dead-letter topic holds exactly the malformed records.
/// </summary>
public sealed class Workload
{
    private readonly KafkaRig rig;
    private readonly Lazy<List<string>> reference;
    private readonly Lazy<List<string>> refused;

    private Workload(KafkaRig rig, string file, List<string> lines)
    {
        this.rig = rig;
        File = file;
        Lines = lines;
        reference = new(() => PartitionFiles.Reference(file));
        refused = new(() => PartitionFiles.Refused(file));
    }

    /// <summary>The proto3 JSON lines, in the order they are meant to be produced.</summary>
    public IReadOnlyList<string> Lines { get; }

    /// <summary>Where <see cref="Lines"/> are written.</summary>
    public string File { get; }

    /// <summary>The Core reference partition of the valid observations.</summary>
    public List<string> Reference => reference.Value;

    /// <summary>The lines refused as a whole: what the dead-letter topic must hold.</summary>
    public List<string> Refused => refused.Value;

    /// <summary>Generates <paramref name="count"/> observations and writes them to <c>NAME.jsonl</c> in the rig's directory.</summary>
    public static async Task<Workload> CreateAsync(KafkaRig rig, ObservationGenerator generator, int count, string name = "observations")
    {
        var file = Path.Combine(rig.Directory, name + ".jsonl");
        var lines = generator.JsonLines(count).ToList();
        await System.IO.File.WriteAllLinesAsync(file, lines);
        return new Workload(rig, file, lines);
    }

    /// <summary>The lines split into <paramref name="parts"/> consecutive chunks of (nearly) equal size.</summary>
    public IReadOnlyList<string[]> Chunks(int parts) => [.. Lines.Chunk((Lines.Count + parts - 1) / parts)];

    /// <summary>Produces <paramref name="lines"/> (all of the workload when null) to the input topic with kcat.</summary>
    public Task ProduceAsync(IEnumerable<string>? lines = null) =>
        Kcat.ProduceLinesAsync(rig.BootstrapServers, Kafka.Topics.Observations, lines ?? Lines);

    /// <summary>
    /// Waits up to <paramref name="settle"/> for the downstream view to equal the reference, and asserts it; returns
    /// the view's profile count. The rig's log is in the failure message, with what differs, and whether the graph
    /// itself (<c>export</c> of <paramref name="persistence"/>) equals the reference, which tells a publishing fault from
    /// a resolution fault.
    /// </summary>
    public async Task<int> AssertViewEqualsReferenceAsync(TimeSpan settle, string persistence)
    {
        var view = await rig.WaitForViewAsync(Reference, settle);
        if (!Reference.SequenceEqual(view))
        {
            var graph = await ExportDifferenceAsync(persistence) is { } difference
                ? "the export differs too: " + difference
                : "the export equals the reference: the graph is right, its publication is not";
            Assert.Fail($"view has {view.Count} profiles, reference {Reference.Count}\n{Difference(Reference, view)}\n{graph}\n{rig.Log}");
        }

        return view.Count;
    }

    /// <summary><c>identitygraph export</c> of <paramref name="persistence"/> equals the reference.</summary>
    public async Task AssertExportEqualsReferenceAsync(string persistence)
    {
        var difference = await ExportDifferenceAsync(persistence);
        Assert.True(difference is null, difference);
    }

    /// <summary>What <c>export</c> of <paramref name="persistence"/> has that the reference lacks and the other way round; null when equal.</summary>
    private async Task<string?> ExportDifferenceAsync(string persistence)
    {
        var export = await rig.ExportAsync(persistence);
        return Reference.SequenceEqual(export) ? null : $"export has {export.Count} profiles, reference {Reference.Count}\n{Difference(Reference, export)}";
    }

    /// <summary>
    /// Every profile's changelog is complete: versions 1..latest, none skipped (duplicates are allowed: at least once).
    /// Returns the events and the distinct (profile, version) pairs.
    /// </summary>
    public (int Events, int Distinct) AssertChangelogComplete()
    {
        var events = rig.ReadAll(Kafka.Topics.ProfileEvents).Select(r => ProfileEvent.Parser.ParseFrom(r.Message.Value)).ToList();
        var incomplete = events.GroupBy(e => e.ProfileId)
            .Where(g => g.Select(e => e.Version).Distinct().Count() != g.Max(e => e.Version) || g.Min(e => e.Version) != 1)
            .Select(g => g.Key)
            .ToList();
        Assert.True(incomplete.Count == 0, $"{incomplete.Count} profiles with gaps in their versions, e.g. {string.Join(", ", incomplete.Take(5))}");
        return (events.Count, events.Select(e => (e.ProfileId, e.Version)).Distinct().Count());
    }

    /// <summary>
    /// The dead-letter topic holds every malformed record and nothing else (a record may be there twice: at least
    /// once); in particular no valid observation gave up with <c>observation.resolve_failed</c>. Returns the dead letters.
    /// </summary>
    public int AssertDeadLettersAreExactlyTheMalformed()
    {
        var records = rig.ReadAll(Kafka.Topics.DeadLetters);
        var gaveUp = records.Count(r => r.Message.Headers is { } h && h.TryGetLastBytes(DeadLetterHeaders.ErrorCode, out var code) &&
            Encoding.UTF8.GetString(code) == ResolveErrorCodes.ResolveFailed);
        Assert.True(gaveUp == 0, $"{gaveUp} observations were dead-lettered with {ResolveErrorCodes.ResolveFailed}\n{rig.Log}");
        var deadLetters = records.Select(r => Encoding.UTF8.GetString(r.Message.Value!)).ToList();
        Assert.NotEmpty(Refused);
        Assert.Equal(Refused.Order(StringComparer.Ordinal), deadLetters.Distinct().Order(StringComparer.Ordinal));
        return deadLetters.Count;
    }

    /// <summary>Waits until at least <paramref name="atLeast"/> profile events are on the changelog (or two minutes pass); returns how many.</summary>
    public async Task<int> WaitForPublishedAsync(int atLeast)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        int published;
        do
        {
            await Task.Delay(300);
            published = rig.ReadAll(Kafka.Topics.ProfileEvents).Count;
        }
        while (published < atLeast && DateTime.UtcNow < deadline);
        return published;
    }

    /// <summary>What one canonical partition has that the other lacks, a few groups each way.</summary>
    private static string Difference(List<string> expected, List<string> actual)
    {
        var missing = expected.Except(actual, StringComparer.Ordinal).ToList();
        var extra = actual.Except(expected, StringComparer.Ordinal).ToList();
        return $"{missing.Count} reference groups not there, e.g.\n  {string.Join("\n  ", missing.Take(8))}\n" +
               $"{extra.Count} groups not in the reference, e.g.\n  {string.Join("\n  ", extra.Take(8))}";
    }
}
