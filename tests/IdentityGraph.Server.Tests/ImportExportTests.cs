using System.Diagnostics;
using System.Text.Json;
using IdentityGraph.Server.Tests.Support;

namespace IdentityGraph.Server.Tests;

/// <summary>
/// <c>identitygraph import</c> and <c>export</c> as a user runs them: the real executable on a real SQLite file.
/// The export must equal the Core reference partition of the valid observations, also after a kill -9 and a rerun.
/// </summary>
public sealed class ImportExportTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("identitygraph-import-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Import_then_export_equals_the_reference_partition_and_a_second_import_changes_nothing()
    {
        var input = Path.Combine(directory, "observations.jsonl");
        new ObservationGenerator(seed: 1, customers: 400, householdLinkRate: 0.08, malformedRate: 0.02).WriteFile(input, 1500);
        var persistence = "sqlite:" + Path.Combine(directory, "graph.db");

        var (exitCode, stdout, stderr) = await Run("import", "--in", input, "--persistence", persistence);
        Assert.True(exitCode == 0, stderr);
        Assert.Matches(@"observations\s+1500", stdout);
        // stderr is not a terminal here: progress comes as plain lines, the last one for the whole file.
        Assert.Matches(@"(?m)^progress 100%: 1500 lines in [0-9.]+ s; this part [0-9]+ lines at [0-9]+/s$", stderr.ReplaceLineEndings("\n"));
        var rejects = File.ReadAllLines(input + ".rejects.jsonl");
        Assert.NotEmpty(rejects);
        Assert.Matches($@"rejected\s+{rejects.Length}\b", stdout);
        foreach (var reject in rejects)
        {
            using var json = JsonDocument.Parse(reject);
            Assert.StartsWith("observation.", json.RootElement.GetProperty("error").GetProperty("code").GetString(), StringComparison.Ordinal);
            Assert.True(json.RootElement.GetProperty("line").GetInt64() > 0);
        }

        var first = await Export(persistence);
        Assert.Equal(PartitionFiles.Reference(input), PartitionFiles.Export(first));

        (exitCode, stdout, stderr) = await Run("import", "--in", input, "--persistence", persistence);
        Assert.True(exitCode == 0, stderr);
        Assert.Matches(@"profiles created\s+0\b", stdout);
        Assert.Matches(@"merges\s+0\b", stdout);
        Assert.Matches(@"linked\s+0\b", stdout);
        Assert.Equal(first, await Export(persistence));
    }

    [Fact]
    public async Task An_import_killed_with_sigkill_and_run_again_gives_the_reference_partition()
    {
        var input = Path.Combine(directory, "observations.jsonl");
        new ObservationGenerator(seed: 2, customers: 3000, householdLinkRate: 0.1).WriteFile(input, 8000);
        var database = Path.Combine(directory, "graph.db");
        var persistence = "sqlite:" + database;

        using (var import = Start("import", "--in", input, "--persistence", persistence))
        {
            // Kill once the import is under way: the database holds some, but not all, of the work.
            var started = Stopwatch.StartNew();
            while (!HasJournalRows(database) && started.Elapsed < TimeSpan.FromMinutes(2) && !import.HasExited)
            {
                await Task.Delay(100);
            }

            await Task.Delay(1500);
            Assert.False(import.HasExited, "the import finished before it could be killed; make the input larger");
            import.Kill(entireProcessTree: true);
            await import.WaitForExitAsync();
        }

        var (exitCode, stdout, stderr) = await Run("import", "--in", input, "--persistence", persistence);
        Assert.True(exitCode == 0, stderr);
        Assert.Matches(@"failed\s+0\b", stdout);
        Assert.Equal(PartitionFiles.Reference(input), PartitionFiles.Export(await Export(persistence)));
    }

    [Fact]
    public async Task A_rejected_line_with_a_raw_card_number_keeps_its_code_but_not_the_card_number()
    {
        var input = Path.Combine(directory, "pan.jsonl");
        await File.WriteAllLinesAsync(input,
        [
            """{"observationId":"pan-1","observedAt":"2026-12-01T10:00:00Z","identifiers":[{"type":"IDENTIFIER_TYPE_PAYMENT_TOKEN","value":"4111 1111 1111 1111","namespace":"psp"}]}""",
            """{"observationId":"pan-2","observedAt":"2026-12-01T10:00:00Z","identifiers":[{"type":"IDENTIFIER_TYPE_PAYMENT_TOKEN","value":"5555555555554444"}],""",
        ]);
        var persistence = "sqlite:" + Path.Combine(directory, "graph.db");

        var (exitCode, _, stderr) = await Run("import", "--in", input, "--persistence", persistence);
        Assert.True(exitCode == 0, stderr);
        var rejects = await File.ReadAllTextAsync(input + ".rejects.jsonl");
        Assert.DoesNotContain("4111 1111 1111", rejects, StringComparison.Ordinal);
        Assert.DoesNotContain("555555555555", rejects, StringComparison.Ordinal);
        var lines = rejects.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["observation.no_valid_identifier", "observation.invalid_json"], lines.Select(l => l.GetProperty("error").GetProperty("code").GetString()));
        Assert.Contains("**** **** **** 1111", lines[0].GetProperty("input").GetString(), StringComparison.Ordinal);
        Assert.Contains("************4444", lines[1].GetProperty("input").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_persistence_option_is_a_clear_error_with_exit_code_2()
    {
        var input = Path.Combine(directory, "empty.jsonl");
        await File.WriteAllTextAsync(input, "");
        var (exitCode, _, stderr) = await Run("import", "--in", input, "--persistence", "mysql:whatever");
        Assert.Equal(2, exitCode);
        Assert.Contains("--persistence", stderr, StringComparison.Ordinal);
    }

    private async Task<string[]> Export(string persistence)
    {
        var output = Path.Combine(directory, $"export-{Guid.NewGuid():N}.jsonl");
        var (exitCode, _, stderr) = await Run("export", "--out", output, "--persistence", persistence);
        Assert.True(exitCode == 0, stderr);
        return await File.ReadAllLinesAsync(output);
    }

    private static bool HasJournalRows(string database)
    {
        if (!File.Exists(database))
        {
            return false;
        }

        try
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Mode=ReadOnly");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM journal";
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 200;
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return false; // the table is not there yet
        }
    }

    private static Process Start(params string[] args)
    {
        var process = Process.Start(NormalizeCommandTests.StartInfo(args))!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> Run(params string[] args) =>
        NormalizeCommandTests.RunExecutable(args, "", TimeSpan.FromMinutes(8));
}
