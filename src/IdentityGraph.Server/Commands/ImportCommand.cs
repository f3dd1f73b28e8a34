using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Server.Configuration;
using IdentityGraph.Server.Hosting;
using Spectre.Console;

namespace IdentityGraph.Server.Commands;

/// <summary>
/// <c>identitygraph import --in FILE</c>: initial loads from a CRM and warehouse snapshots. Observations as proto3 JSON
/// lines; invalid lines go to <c>FILE.rejects.jsonl</c>; a summary at the end. Safe to run again.
/// </summary>
public static class ImportCommand
{
    public static Command Create()
    {
        var input = new Option<FileInfo>("--in") { Description = "File of observations, one proto3 JSON object per line.", Required = true };
        var persistence = PersistenceOption.Create();
        var parallelism = new Option<int>("--parallelism")
        {
            Description = "Observations resolved at once.",
            DefaultValueFactory = _ => ImportRunner.DefaultParallelism,
        };
        var command = new Command("import", "Import observations from a file of proto3 JSON lines into the identity graph.")
        {
            input,
            persistence,
            parallelism,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = parse.GetValue(input)!;
            if (!file.Exists)
            {
                throw new ConfigurationException([$"--in: {file.FullName} does not exist."]);
            }

            if (parse.GetValue(parallelism) is < 1 or > 10_000)
            {
                throw new ConfigurationException(["--parallelism must be between 1 and 10000."]);
            }

            var configuration = SettingsLoader.Load();
            await SettingsLoader.Identity(configuration).WarnIfDevelopmentSecretAsync(Console.Error);
            var storage = PersistenceOption.Parse(parse.GetValue(persistence), configuration);
            var rejectsPath = file.FullName + ".rejects.jsonl";
            await Console.Error.WriteLineAsync($"importing {file.Name} into {storage.DisplayString}");

            using var host = await GraphHost.StartAsync(configuration, storage, cancellationToken);
            var runner = new ImportRunner(host.Resolver(), parse.GetValue(parallelism));
            ImportSummary summary;
            await using (var stream = file.OpenRead())
            await using (var rejects = new StreamWriter(rejectsPath, append: false))
            {
                summary = await RunWithProgress(runner, stream, rejects, cancellationToken);
            }

            await host.StopAsync(CancellationToken.None);
            if (summary.Rejected == 0)
            {
                File.Delete(rejectsPath);
            }

            Console.Out.Write(Describe(summary, file.Name, summary.Rejected > 0 ? rejectsPath : null));
            if (summary.Failed > 0)
            {
                await Console.Error.WriteLineAsync(
                    $"{summary.Failed} observations could not be resolved (first error: {summary.FirstFailure}); run the same import again to complete them.");
                return 1;
            }

            return 0;
        });
        return command;
    }

    /// <summary>The closing summary, plain text so that it reads the same in a terminal and in a CI log.</summary>
    public static string Describe(ImportSummary summary, string fileName, string? rejectsPath)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var c = CultureInfo.InvariantCulture;
        return string.Create(c, $"""
            imported {fileName} in {summary.Elapsed.TotalSeconds:F1} s
              observations        {summary.Observations,10}  ({summary.Rate:F0}/s)
              profiles created    {summary.Created,10}
              linked              {summary.Linked,10}
              merges              {summary.Merged,10}  ({summary.ProfilesMerged} profiles merged away)
              nothing new         {summary.NothingNew,10}
              rejected            {summary.Rejected,10}{(rejectsPath is null ? "" : "  -> " + rejectsPath)}
              identifiers dropped {summary.DroppedIdentifiers,10}
              failed              {summary.Failed,10}

            """);
    }

    private static async Task<ImportSummary> RunWithProgress(
        ImportRunner runner, FileStream stream, StreamWriter rejects, CancellationToken cancellationToken)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsErrorRedirected)
        {
            // A log, not a terminal (CI, a Kubernetes job): a plain line per tenth of the file.
            return await runner.RunAsync(stream, rejects, new TenthsProgress(stream.Length, Console.Error), cancellationToken);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        ImportSummary? summary = null;
        await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("importing", maxValue: Math.Max(1, stream.Length));
                summary = await runner.RunAsync(stream, rejects, new Progress<ImportProgress>(p => task.Value = p.BytesRead), cancellationToken);
                task.Value = task.MaxValue;
            });
        return summary!;
    }

    /// <summary>
    /// One line per tenth of the file read, with the rate of that tenth: whether an import keeps its pace as the
    /// database grows shows in any log (benchmarks/README.md uses it for the SQLite flatness figure).
    /// </summary>
    private sealed class TenthsProgress(long length, TextWriter output) : IProgress<ImportProgress>
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private int tenthsDone;
        private long linesAtLastTenth;
        private TimeSpan lastTenthAt;

        public void Report(ImportProgress value)
        {
            var tenths = length <= 0 ? 10 : (int)Math.Min(10, value.BytesRead * 10 / length);
            if (tenths <= tenthsDone)
            {
                return;
            }

            var now = clock.Elapsed;
            var lines = value.Lines - linesAtLastTenth;
            var seconds = Math.Max((now - lastTenthAt).TotalSeconds, 0.001);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"progress {tenths * 10,3}%: {value.Lines} lines in {now.TotalSeconds:F1} s; this part {lines} lines at {lines / seconds:F0}/s"));
            tenthsDone = tenths;
            linesAtLastTenth = value.Lines;
            lastTenthAt = now;
        }
    }
}
