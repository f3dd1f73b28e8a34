using Akka.Actor;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace IdentityGraph.Cluster.Tests.Persistence;

public sealed class SqliteJournalTests : JournalBackendTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("identitygraph-sqlite-").FullName;
    private readonly StorageSettings _storage;

    public SqliteJournalTests() => _storage = StorageSettings.Parse("sqlite:db/journal.db", _directory);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override Task<StorageSettings> StorageAsync() => Task.FromResult(_storage);

    [Fact]
    public Task Sqlite_index_rows_this_node_cannot_read_are_found() =>
        Index_rows_this_node_cannot_read_are_found();

    [Fact]
    public async Task Sqlite_events_survive_a_restart_of_the_actor_system()
    {
        await Events_survive_a_restart_of_the_actor_system();

        // The journal file is in write-ahead-log mode, as Prepare left it.
        SqliteConnection.ClearAllPools();
        await using var connection = new SqliteConnection(_storage.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", await command.ExecuteScalarAsync());
        command.CommandText = "SELECT count(*) FROM journal;";
        Assert.Equal(8L, await command.ExecuteScalarAsync());

        // Tags are stored as CSV in the journal row (tag-write-mode = Csv), not in a tag table.
        command.CommandText = "SELECT count(*) FROM journal WHERE tags LIKE '%profile%';";
        Assert.Equal(2L, await command.ExecuteScalarAsync()); // the profile slices' events
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'tags';";
        Assert.Equal(0L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Entities_recover_while_another_connection_holds_the_write_lock()
    {
        var history = ProfileHistory("01HLOCKED");
        var system = TestSystems.Start(_storage, "write-lock");
        try
        {
            var writer = system.ActorOf(JournalProbe.Props("profile-01HLOCKED"));
            await writer.Ask<JournalProbe.Appended>(new JournalProbe.AppendAll(history), TestSystems.AskTimeout);

            // A write transaction elsewhere holds SQLite's one write lock. Recovery only reads, so it must not wait for
            // it: reads in IMMEDIATE transactions did (the driver's busy retry, 150 ms a round, up to its 30 s time-out).
            await using var outside = new SqliteConnection(_storage.ConnectionString);
            await outside.OpenAsync();
            await using var lockHolder = outside.BeginTransaction(deferred: false);

            var reader = system.ActorOf(JournalProbe.Props("profile-01HLOCKED"));
            var recovered = await reader.Ask<JournalProbe.Events>(JournalProbe.GetEvents.Instance, TimeSpan.FromSeconds(10));

            Assert.Equal(history, recovered.All);
            await lockHolder.RollbackAsync();
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public Task Sqlite_EventsByTag_returns_the_profile_events() => EventsByTag_returns_the_profile_events();
}
