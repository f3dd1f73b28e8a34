using System.Text;
using IdentityGraph.Server.Tests.Support;

namespace IdentityGraph.Server.Tests;

/// <summary>
/// <c>identitygraph import</c> against careless and hostile input, as a user runs it (the real executable on a real
/// SQLite file): byte-order marks, reused observation ids.
/// </summary>
public sealed class ImportGuardTests : IDisposable
{
    private const string Ann = """{"observationId":"dup","observedAt":"2026-11-01T10:00:00Z","identifiers":[{"type":"EMAIL","value":"ann@example.com"},{"type":"PHONE","value":"+4512345678"}]}""";
    private const string Bob = """{"observationId":"dup","observedAt":"2026-11-01T10:00:00Z","identifiers":[{"type":"EMAIL","value":"bob@example.com"}]}""";

    private readonly string directory = Directory.CreateTempSubdirectory("identitygraph-import-guard-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    /// <summary>
    /// A file written with a byte-order mark, and a second file appended to it with its own (a U+FEFF at the start of
    /// a line), whose two observations reuse one id and event time for two strangers: two profiles, in either order.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Byte_order_marks_are_accepted_and_a_reused_id_does_not_merge_strangers(bool reversed)
    {
        var (first, second) = reversed ? (Bob, Ann) : (Ann, Bob);
        var input = Path.Combine(directory, $"bom-{reversed}.jsonl");
        await File.WriteAllTextAsync(input, "\uFEFF" + first + "\n\uFEFF" + second + "\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        Assert.Equal([0xEF, 0xBB, 0xBF], (await File.ReadAllBytesAsync(input))[..3]);
        var persistence = "sqlite:" + Path.Combine(directory, $"graph-{reversed}.db");

        // One at a time, so that the order is the file's.
        var (exitCode, stdout, stderr) = await Run("import", "--in", input, "--persistence", persistence, "--parallelism", "1");
        Assert.True(exitCode == 0, stderr);
        Assert.Matches(@"rejected\s+0\b", stdout);
        Assert.Matches(@"profiles created\s+2\b", stdout);

        var output = Path.Combine(directory, $"export-{reversed}.jsonl");
        (exitCode, _, stderr) = await Run("export", "--out", output, "--persistence", persistence);
        Assert.True(exitCode == 0, stderr);
        var exported = PartitionFiles.Export(await File.ReadAllLinesAsync(output));
        Assert.Equal(["EMAIL||ann@example.com PHONE||+4512345678", "EMAIL||bob@example.com"], exported);
        Assert.Equal(PartitionFiles.Reference(input), exported);
    }

    /// <summary>
    /// With <c>MaxIdentifiersPerProfile</c> 120, observations that share one e-mail and bring 49 new identifiers each:
    /// two are taken (99 identifiers), the rest are listed as rejected with <c>profile.identifier_limit</c>, not failed.
    /// </summary>
    [Fact]
    public async Task Observations_beyond_the_identifier_limit_are_listed_as_rejected_with_the_code()
    {
        var input = Path.Combine(directory, "hub.jsonl");
        await File.WriteAllLinesAsync(input, Enumerable.Range(0, 5).Select(i =>
            $$"""{"observationId":"hub-{{i}}","observedAt":"2026-11-01T10:0{{i}}:00Z","identifiers":[{"type":"EMAIL","value":"hub@example.com"},""" +
            string.Join(",", Enumerable.Range(0, 49).Select(j => $$"""{"type":"CUSTOMER_ID","value":"c-{{i}}-{{j}}"}""")) + "]}"));
        var persistence = "sqlite:" + Path.Combine(directory, "hub.db");

        var (exitCode, stdout, stderr) = await NormalizeCommandTests.RunExecutable(
            ["import", "--in", input, "--persistence", persistence, "--parallelism", "1"], "", TimeSpan.FromMinutes(5),
            ("IdentityGraph__Identity__MaxIdentifiersPerProfile", "120"));
        Assert.True(exitCode == 0, stderr);
        Assert.Matches(@"rejected\s+3\b", stdout);
        Assert.Matches(@"failed\s+0\b", stdout);
        var rejects = await File.ReadAllLinesAsync(input + ".rejects.jsonl");
        Assert.Equal(3, rejects.Length);
        Assert.All(rejects, r => Assert.Contains("\"code\":\"profile.identifier_limit\"", r, StringComparison.Ordinal));
    }

    /// <summary>
    /// A database written by the design before index slices (a journal row of an <c>identifier-…</c> entity) is
    /// refused at start with exit code 2 and the way to rebuild, before anything is written to it.
    /// </summary>
    [Fact]
    public async Task A_database_of_per_identifier_entities_is_refused_with_the_way_to_rebuild()
    {
        var input = Path.Combine(directory, "one.jsonl");
        await File.WriteAllTextAsync(input, Ann + "\n");
        var database = Path.Combine(directory, "old.db");
        var (exitCode, _, stderr) = await Run("import", "--in", input, "--persistence", "sqlite:" + database);
        Assert.True(exitCode == 0, stderr);

        // What the old design left: a row of an identifier entity beside the profiles' rows.
        long rowsBefore;
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, tags, manifest, identifier, writer_uuid)
                SELECT created, deleted, 'identifier-email:3f2a', 1, message, '', manifest, identifier, writer_uuid FROM journal LIMIT 1;
                SELECT count(*) FROM journal;
                """;
            rowsBefore = (long)(await command.ExecuteScalarAsync())!;
        }

        (exitCode, _, stderr) = await Run("import", "--in", input, "--persistence", "sqlite:" + database);

        Assert.Equal(2, exitCode);
        Assert.Contains("one entity per identifier", stderr, StringComparison.Ordinal);
        Assert.Contains("identitygraph import", stderr, StringComparison.Ordinal);
        Assert.Contains("replay the input topic", stderr, StringComparison.Ordinal);
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM journal;";
            Assert.Equal(rowsBefore, (long)(await command.ExecuteScalarAsync())!);
        }
    }

    /// <summary>
    /// The index slice count follows the database: a new one gets 16 slices; one written with 64 (every database from
    /// before the default changed) is read with 64 when the setting is left alone, so a returning customer is found;
    /// an explicit count that differs from the database's is refused at start.
    /// </summary>
    [Fact]
    public async Task The_index_slice_count_is_the_one_the_database_was_written_with()
    {
        var input = Path.Combine(directory, "ann.jsonl");
        await File.WriteAllTextAsync(input, Ann + "\n");
        var fresh = Path.Combine(directory, "fresh.db");
        var (exitCode, _, stderr) = await Run("import", "--in", input, "--persistence", "sqlite:" + fresh);
        Assert.True(exitCode == 0, stderr);
        Assert.Equal(["16"], await IndexSliceCountsAsync(fresh));

        var written64 = Path.Combine(directory, "written64.db");
        (exitCode, _, stderr) = await NormalizeCommandTests.RunExecutable(
            ["import", "--in", input, "--persistence", "sqlite:" + written64], "", TimeSpan.FromMinutes(5), ("IdentityGraph__Graph__IndexSlices", "64"));
        Assert.True(exitCode == 0, stderr);

        (exitCode, var stdout, stderr) = await Run("import", "--in", input, "--persistence", "sqlite:" + written64);
        Assert.True(exitCode == 0, stderr);
        Assert.Matches(@"nothing new\s+1\b", stdout);
        Assert.Equal(["64"], await IndexSliceCountsAsync(written64));

        (exitCode, _, stderr) = await NormalizeCommandTests.RunExecutable(
            ["import", "--in", input, "--persistence", "sqlite:" + written64], "", TimeSpan.FromMinutes(5), ("IdentityGraph__Graph__IndexSlices", "16"));
        Assert.Equal(2, exitCode);
        Assert.Contains("another slice count", stderr, StringComparison.Ordinal);
    }

    /// <summary>The slice counts of the index rows in a SQLite database (the middle part of <c>index-{count}-{slice}</c>).</summary>
    private static async Task<List<string>> IndexSliceCountsAsync(string database)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT persistence_id FROM journal WHERE persistence_id LIKE 'index-%' UNION SELECT DISTINCT persistence_id FROM snapshot WHERE persistence_id LIKE 'index-%';";
        var counts = new SortedSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts.Add(reader.GetString(0).Split('-')[1]);
        }

        return [.. counts];
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> Run(params string[] args) =>
        NormalizeCommandTests.RunExecutable(args, "", TimeSpan.FromMinutes(5));
}
