using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Tests.Infrastructure;
using Npgsql;

namespace IdentityGraph.Cluster.Tests.Persistence;

[Collection(UsesPostgres.Name)]
public sealed class PostgresJournalTests(PostgresServer server) : JournalBackendTests
{
    private string? _connectionString;

    protected override async Task<StorageSettings> StorageAsync()
    {
        _connectionString = await server.CreateDatabaseAsync("journal");
        return StorageSettings.Parse("postgres:" + _connectionString);
    }

    [PostgresFact]
    public async Task Postgres_events_survive_a_restart_of_the_actor_system()
    {
        await Events_survive_a_restart_of_the_actor_system();

        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM journal";
        Assert.Equal(8L, await command.ExecuteScalarAsync());

        // Tags are stored as CSV in the journal row (tag-write-mode = Csv), not in a tag table.
        command.CommandText = "SELECT count(*) FROM journal WHERE tags LIKE '%profile%'";
        Assert.Equal(2L, await command.ExecuteScalarAsync()); // the profile slices' events
        command.CommandText = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'tags'";
        Assert.Equal(0L, await command.ExecuteScalarAsync());
    }

    [PostgresFact]
    public Task Postgres_index_rows_this_node_cannot_read_are_found() =>
        Index_rows_this_node_cannot_read_are_found();

    [PostgresFact]
    public async Task A_server_that_can_lose_acknowledged_commits_is_reported()
    {
        // The test server trades durability for speed (fsync and synchronous_commit off), exactly what serve warns about.
        var status = new JournalStatus(await StorageAsync());

        var problems = await status.DurabilityProblemsAsync();

        Assert.Collection(
            problems,
            p => Assert.StartsWith("synchronous_commit is off", p, StringComparison.Ordinal),
            p => Assert.StartsWith("fsync is off", p, StringComparison.Ordinal));
        Assert.Empty(await new JournalStatus(StorageSettings.Parse("sqlite:" + Path.Combine(Path.GetTempPath(), $"ig-{Guid.NewGuid():N}.db"))).DurabilityProblemsAsync());
    }

    [PostgresFact]
    public Task Postgres_EventsByTag_returns_the_profile_events() => EventsByTag_returns_the_profile_events();
}
