using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace IdentityGraph.Cluster.Persistence;

/// <summary>Profile events in the journal after an offset: how many, and when the oldest of them was written.</summary>
public readonly record struct UnpublishedEvents(long Count, DateTimeOffset? OldestWrittenAt);

/// <summary>
/// Plain SQL against the journal, for what the Akka plugin does not answer: is the database reachable (readiness),
/// and how far the outbox is behind (its lag metrics). Reads only; the table and columns are Akka.Persistence.Sql's
/// defaults, which <see cref="PersistenceHocon"/> keeps. <paramref name="indexSlices"/> is the node's index slice count.
/// </summary>
public sealed class JournalStatus(StorageSettings storage, int indexSlices = Core.Index.IndexSlices.DefaultSliceCount)
{
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The slice count this node's identifier index uses.</summary>
    public int IndexSlices => indexSlices;

    /// <summary>True when the database answers a trivial query within a few seconds.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = Command(connection, "SELECT 1");
            return await command.ExecuteScalarAsync(cancellationToken) is not null;
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException or IOException ||
            (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>
    /// PostgreSQL settings under which a commit the server acknowledged can still be lost in a crash: the graph
    /// replies, and ingestion commits the Kafka offset, once a write is acknowledged, so such a loss is a lost
    /// observation that nothing reads again. Empty for SQLite, with safe settings, or when the database cannot be asked.
    /// </summary>
    public async Task<IReadOnlyList<string>> DurabilityProblemsAsync(CancellationToken cancellationToken = default)
    {
        if (storage.Backend != StorageBackend.Postgres)
        {
            return [];
        }

        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = Command(connection, "SELECT current_setting('synchronous_commit'), current_setting('fsync')");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return [];
            }

            var problems = new List<string>();
            if (string.Equals(reader.GetString(0), "off", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add("synchronous_commit is off: a database crash loses the last acknowledged writes, and the observations behind them are not read again; set it to on");
            }

            if (string.Equals(reader.GetString(1), "off", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add("fsync is off: a machine crash can lose or corrupt acknowledged writes; set it to on");
            }

            return problems;
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException or IOException ||
            (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return [];
        }
    }

    /// <summary>
    /// The persistence id of a row this node's identifier index cannot read, or null when there is none (a new
    /// database, one without the tables yet, or one written with this design and slice count). Such a row is either
    /// one of the designs before slices (one entity per identifier, <c>identifier-…</c>; one per profile,
    /// <c>profile-…</c>) or a slice written with another slice count (<c>index-{count}-…</c>, <c>profiles-{count}-…</c>):
    /// starting on it would not find those identifiers or profiles and would give every returning customer a second
    /// profile. One scan of the persistence ids at start.
    /// </summary>
    public Task<string?> UnreadableIndexRowAsync(CancellationToken cancellationToken = default) =>
        FirstPersistenceIdAsync(
            $"persistence_id LIKE '{LegacyIdentifierPrefix}%' OR persistence_id LIKE '{LegacyProfilePrefix}%' " +
            $"OR (persistence_id LIKE 'index-%' AND persistence_id NOT LIKE 'index-{indexSlices}-%') " +
            $"OR (persistence_id LIKE 'profiles-%' AND persistence_id NOT LIKE 'profiles-{indexSlices}-%')",
            cancellationToken);

    /// <summary>
    /// The slice count the database's identifier index was written with (read from a slice's persistence id,
    /// <c>index-{count}-{slice}</c>), or null when it holds no index yet. Throws when the database cannot be read.
    /// </summary>
    public async Task<int?> WrittenIndexSlicesAsync(CancellationToken cancellationToken = default) =>
        await FirstPersistenceIdAsync("persistence_id LIKE 'index-%'", cancellationToken) is { } persistenceId &&
        persistenceId.Split('-') is [_, var count, _] &&
        int.TryParse(count, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var slices)
            ? slices
            : null;

    /// <summary>
    /// The first persistence id in the journal, then the snapshot table, that matches <paramref name="condition"/>; null
    /// for none, for a SQLite file that does not exist yet and for tables not created yet.
    /// </summary>
    private async Task<string?> FirstPersistenceIdAsync(string condition, CancellationToken cancellationToken)
    {
        if (storage.SqliteFile is { } file && !File.Exists(file))
        {
            return null;
        }

        await using var connection = await OpenAsync(cancellationToken);
        foreach (var table in new[] { "journal", "snapshot" })
        {
            try
            {
                await using var command = Command(connection, $"SELECT persistence_id FROM {table} WHERE {condition} LIMIT 1");
                if (await command.ExecuteScalarAsync(cancellationToken) is string persistenceId)
                {
                    return persistenceId;
                }
            }
            catch (DbException e) when (IsMissingTable(e))
            {
                // Not created yet: nothing in it.
            }
        }

        return null;
    }

    /// <summary>The persistence-id prefix of the per-identifier entities of the design before index slices.</summary>
    public const string LegacyIdentifierPrefix = "identifier-";

    /// <summary>The persistence-id prefix of the per-profile entities of the design before profile slices.</summary>
    public const string LegacyProfilePrefix = "profile-";

    private static bool IsMissingTable(DbException e) =>
        e is PostgresException { SqlState: PostgresErrorCodes.UndefinedTable } ||
        (e is SqliteException && e.Message.Contains("no such table", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The profile events written after journal offset <paramref name="offset"/> (the outbox checkpoint). Cost grows
    /// with the answer (a range scan of the ordering key), which stays small while the outbox keeps up.
    /// </summary>
    public async Task<UnpublishedEvents> UnpublishedAfterAsync(long offset, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(
            connection,
            $"SELECT COUNT(*), MIN(created) FROM journal WHERE ordering > @offset AND tags LIKE '%;{PersistenceHocon.ProfileTag};%'");
        var parameter = command.CreateParameter();
        parameter.ParameterName = "offset";
        parameter.Value = offset;
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var count = Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture);
        // The plugin stores `created` as UTC ticks.
        DateTimeOffset? oldest = reader.IsDBNull(1)
            ? null
            : new DateTimeOffset(Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture), TimeSpan.Zero);
        return new UnpublishedEvents(count, oldest);
    }

    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        DbConnection connection = storage.Backend == StorageBackend.Sqlite
            ? new SqliteConnection(storage.StatusConnectionString)
            : new NpgsqlConnection(storage.StatusConnectionString);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(QueryTimeout);
        try
        {
            await connection.OpenAsync(timeout.Token);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static DbCommand Command(DbConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = (int)QueryTimeout.TotalSeconds;
        return command;
    }
}
