using System.Diagnostics;
using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using IdentityGraph.Cluster.Persistence;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace IdentityGraph.Benchmarks;

/// <summary>
/// The prototype behind the identifier-index design choice (docs/design-notes/identifier-index.md): what a durable
/// index change costs on each store, written (a) as one Akka.Persistence.Sql journal row per change, (b) as one journal
/// row per batch of changes, (c) as rows of a plain table beside the journal, upserted per batch; and what recovering
/// a slice costs (journal replay, one snapshot, a table scan). Entries are 64 bytes, the size of an identifier key
/// (32) plus an owner profile id (16) plus a version and framing.
/// </summary>
internal static class JournalCost
{
    private const int EntryBytes = 64;

    public static int Run(string persistence, int slices, long rows, string? summaryFile)
    {
        var storage = StorageSettings.Parse(persistence, maxPoolSize: Math.Max(20, slices + 4));
        storage.Prepare();
        var report = new StringBuilder();
        void Line(string text)
        {
            Console.WriteLine(text);
            report.AppendLine(text);
        }

        Line($"journal-cost on {storage.Backend}: {slices} slices writing concurrently, {EntryBytes}-byte entries, {Environment.ProcessorCount} cores");
        Line("| how | entries per batch | entries | seconds | entries/s | batches/s | journal or table rows |");
        Line("|---|---:|---:|---:|---:|---:|---:|");

        var config = PersistenceHocon.ToConfig(storage)
            .WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING"));
        using var system = ActorSystem.Create("journal-cost", config);
        var run = 0;
        foreach (var batch in new[] { 1, 32, 256 })
        {
            // One row per change is slow: give it a tenth of the entries so the run stays in minutes.
            var count = batch == 1 ? Math.Max(slices, rows / 10) : rows;
            var (seconds, batches) = AkkaWrites(system, $"row-per-entry-{run++}", slices, batch, count, onePerBatch: false);
            Line(Row("journal, a row per entry", batch, count, seconds, batches, count));
        }

        foreach (var batch in new[] { 32, 256, 1024 })
        {
            var (seconds, batches) = AkkaWrites(system, $"row-per-batch-{run++}", slices, batch, rows, onePerBatch: true);
            Line(Row("journal, a row per batch", batch, rows, seconds, batches, batches));
        }

        var table = "";
        foreach (var batch in new[] { 32, 256, 1024 })
        {
            (var seconds, var batches, table) = TableWrites(storage, slices, batch, rows, run++);
            Line(Row("table, upsert per batch", batch, rows, seconds, batches, rows));
        }

        Line("");
        Line("| recovery of one slice | entries | seconds | entries/s |");
        Line("|---|---:|---:|---:|");
        var replayEntries = rows / slices;
        AkkaWrites(system, $"replay-{run}", 1, 256, replayEntries, onePerBatch: false);
        Line(RecoveryRow("journal replay, a row per entry", replayEntries, Recover(system, $"replay-{run}-0")));
        AkkaWrites(system, $"replay-batched-{run}", 1, 256, replayEntries, onePerBatch: true);
        Line(RecoveryRow("journal replay, a row per 256 entries", replayEntries, Recover(system, $"replay-batched-{run}-0")));
        const int SnapshotEntries = 1_000_000 / 16;
        Snapshot(system, $"snapshot-{run}", SnapshotEntries);
        Line(RecoveryRow($"one snapshot ({SnapshotEntries * EntryBytes / 1_000_000.0:F1} MB), no events", SnapshotEntries, Recover(system, $"snapshot-{run}")));
        var (scanSeconds, scanned) = TableScan(storage, table, 0);
        Line(RecoveryRow("table scan of one slice", scanned, scanSeconds));

        system.Terminate().Wait();
        if (summaryFile is not null)
        {
            File.WriteAllText(summaryFile, report.ToString());
        }

        return 0;
    }

    private static string Row(string how, int batch, long entries, double seconds, long batches, long storedRows) =>
        string.Create(CultureInfo.InvariantCulture,
            $"| {how} | {batch} | {entries:N0} | {seconds:F1} | {entries / seconds:N0} | {batches / seconds:N0} | {storedRows:N0} |");

    private static string RecoveryRow(string how, long entries, double seconds) =>
        string.Create(CultureInfo.InvariantCulture, $"| {how} | {entries:N0} | {seconds:F2} | {entries / seconds:N0} |");

    private static byte[] Entry(long i)
    {
        var entry = new byte[EntryBytes];
        BitConverter.TryWriteBytes(entry, i);
        Random.Shared.NextBytes(entry.AsSpan(8));
        return entry;
    }

    /// <summary>Each slice is one persistent actor; its driver sends the next batch when the previous is durable.</summary>
    private static (double Seconds, long Batches) AkkaWrites(ActorSystem system, string name, int slices, int batch, long entries, bool onePerBatch)
    {
        var writers = Enumerable.Range(0, slices)
            .Select(s => system.ActorOf(Props.Create(() => new SliceWriter($"{name}-{s}")), $"{name}-{s}"))
            .ToArray();
        var perSlice = entries / slices;
        long batches = 0;
        var clock = Stopwatch.StartNew();
        Task.WaitAll(writers.Select(writer => Task.Run(async () =>
        {
            for (long done = 0; done < perSlice; done += batch)
            {
                var size = (int)Math.Min(batch, perSlice - done);
                var payload = Enumerable.Range(0, size).Select(i => Entry(done + i)).ToArray();
                object message = onePerBatch ? new WriteOne([.. payload.SelectMany(p => p)]) : new WriteEach(payload);
                await writer.Ask<Written>(message, TimeSpan.FromMinutes(2));
                Interlocked.Increment(ref batches);
            }
        })).ToArray());
        var seconds = clock.Elapsed.TotalSeconds;
        foreach (var writer in writers)
        {
            system.Stop(writer);
        }

        return (seconds, batches);
    }

    private static void Snapshot(ActorSystem system, string persistenceId, int entries)
    {
        var writer = system.ActorOf(Props.Create(() => new SliceWriter(persistenceId)));
        var blob = new byte[entries * EntryBytes];
        Random.Shared.NextBytes(blob);
        var clock = Stopwatch.StartNew();
        writer.Ask<Written>(new TakeSnapshot(blob), TimeSpan.FromMinutes(2)).Wait();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(snapshot of {blob.Length / 1_000_000.0:F1} MB written in {clock.Elapsed.TotalSeconds:F2} s)"));
        system.Stop(writer);
    }

    private static double Recover(ActorSystem system, string persistenceId)
    {
        Thread.Sleep(500); // the previous incarnation has stopped
        var clock = Stopwatch.StartNew();
        var reader = system.ActorOf(Props.Create(() => new SliceWriter(persistenceId)));
        reader.Ask<Recovered>(new AskRecovered(), TimeSpan.FromMinutes(5)).Wait();
        var seconds = clock.Elapsed.TotalSeconds;
        system.Stop(reader);
        return seconds;
    }

    private static (double Seconds, long Batches, string Table) TableWrites(StorageSettings storage, int slices, int batch, long entries, int run)
    {
        var table = $"prototype_index_{run}";
        Execute(storage, storage.Backend == StorageBackend.Postgres
            ? $"CREATE TABLE {table} (slice int NOT NULL, key bytea PRIMARY KEY, owner bytea NOT NULL)"
            : $"CREATE TABLE {table} (slice INTEGER NOT NULL, key BLOB PRIMARY KEY, owner BLOB NOT NULL) WITHOUT ROWID");
        var writers = storage.Backend == StorageBackend.Postgres ? slices : 1; // SQLite has one writer at a time
        var perWriter = entries / writers;
        long batches = 0;
        var clock = Stopwatch.StartNew();
        Task.WaitAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (long done = 0; done < perWriter; done += batch)
            {
                var size = (int)Math.Min(batch, perWriter - done);
                var keys = Enumerable.Range(0, size).Select(i => Entry((w * perWriter) + done + i)[..32]).ToArray();
                var owners = Enumerable.Range(0, size).Select(_ => Entry(0)[..16]).ToArray();
                var slice = keys.Select(k => (int)(BitConverter.ToInt64(k) % slices)).ToArray();
                await UpsertAsync(storage, table, slice, keys, owners);
                Interlocked.Increment(ref batches);
            }
        })).ToArray());
        return (clock.Elapsed.TotalSeconds, batches, table);
    }

    private static async Task UpsertAsync(StorageSettings storage, string table, int[] slices, byte[][] keys, byte[][] owners)
    {
        if (storage.Backend == StorageBackend.Postgres)
        {
            await using var connection = new NpgsqlConnection(storage.ConnectionString);
            await connection.OpenAsync();
            // Owners only move to smaller ids: the compare-and-set of a claim, done by the database for a whole batch.
            await using var command = new NpgsqlCommand(
                $"INSERT INTO {table} (slice, key, owner) SELECT s, k, o FROM unnest(@slices, @keys, @owners) AS t(s, k, o) " +
                $"ON CONFLICT (key) DO UPDATE SET owner = excluded.owner WHERE excluded.owner < {table}.owner", connection);
            command.Parameters.AddWithValue("slices", slices);
            command.Parameters.AddWithValue("keys", keys);
            command.Parameters.AddWithValue("owners", owners);
            await command.ExecuteNonQueryAsync();
            return;
        }

        await using var sqlite = new SqliteConnection(storage.ConnectionString);
        await sqlite.OpenAsync();
        await using var transaction = (SqliteTransaction)await sqlite.BeginTransactionAsync();
        await using var upsert = sqlite.CreateCommand();
        upsert.Transaction = transaction;
        upsert.CommandText = $"INSERT INTO {table} (slice, key, owner) VALUES ($slice, $key, $owner) " +
            $"ON CONFLICT (key) DO UPDATE SET owner = excluded.owner WHERE excluded.owner < {table}.owner";
        var sliceParameter = upsert.Parameters.Add("$slice", SqliteType.Integer);
        var keyParameter = upsert.Parameters.Add("$key", SqliteType.Blob);
        var ownerParameter = upsert.Parameters.Add("$owner", SqliteType.Blob);
        for (var i = 0; i < keys.Length; i++)
        {
            sliceParameter.Value = slices[i];
            keyParameter.Value = keys[i];
            ownerParameter.Value = owners[i];
            await upsert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    private static (double Seconds, long Rows) TableScan(StorageSettings storage, string table, int slice)
    {
        var clock = Stopwatch.StartNew();
        long read = 0;
        if (storage.Backend == StorageBackend.Postgres)
        {
            using var connection = new NpgsqlConnection(storage.ConnectionString);
            connection.Open();
            using var command = new NpgsqlCommand($"SELECT key, owner FROM {table} WHERE slice = @slice", connection);
            command.Parameters.AddWithValue("slice", slice);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                read++;
            }
        }
        else
        {
            using var connection = new SqliteConnection(storage.ConnectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT key, owner FROM {table} WHERE slice = $slice";
            command.Parameters.AddWithValue("$slice", slice);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                read++;
            }
        }

        return (clock.Elapsed.TotalSeconds, read);
    }

    private static void Execute(StorageSettings storage, string sql)
    {
        if (storage.Backend == StorageBackend.Postgres)
        {
            using var connection = new NpgsqlConnection(storage.ConnectionString);
            connection.Open();
            using var command = new NpgsqlCommand(sql, connection);
            command.ExecuteNonQuery();
            return;
        }

        using var sqlite = new SqliteConnection(storage.ConnectionString);
        sqlite.Open();
        using var sqliteCommand = sqlite.CreateCommand();
        sqliteCommand.CommandText = sql;
        sqliteCommand.ExecuteNonQuery();
    }

    private sealed record WriteEach(byte[][] Entries);

    private sealed record WriteOne(byte[] Entries);

    private sealed record TakeSnapshot(byte[] State);

    private sealed record AskRecovered;

    private sealed record Written;

    private sealed record Recovered(long Entries);

    private sealed class SliceWriter : ReceivePersistentActor
    {
        private long entries;
        private IActorRef? snapshotCaller;

        public SliceWriter(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<SnapshotOffer>(offer => entries = ((byte[])offer.Snapshot).Length / EntryBytes);
            Recover<byte[]>(entry => entries += Math.Max(1, entry.Length / EntryBytes));
            Command<WriteEach>(write =>
            {
                var caller = Sender;
                var left = write.Entries.Length;
                PersistAll(write.Entries, _ =>
                {
                    entries++;
                    if (--left == 0)
                    {
                        caller.Tell(new Written());
                    }
                });
            });
            Command<WriteOne>(write => Persist(write.Entries, _ =>
            {
                entries += write.Entries.Length / EntryBytes;
                Sender.Tell(new Written());
            }));
            Command<TakeSnapshot>(snapshot =>
            {
                snapshotCaller = Sender;
                SaveSnapshot(snapshot.State);
            });
            Command<SaveSnapshotSuccess>(_ => snapshotCaller?.Tell(new Written()));
            Command<SaveSnapshotFailure>(failure => throw failure.Cause);
            Command<AskRecovered>(_ => Sender.Tell(new Recovered(entries)));
        }

        public override string PersistenceId { get; }
    }
}
