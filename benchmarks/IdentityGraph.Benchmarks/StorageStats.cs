using System.Data.Common;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace IdentityGraph.Benchmarks;

/// <summary>
/// Counts what a run left in the journal (Akka.Persistence.Sql's default tables <c>journal</c> and <c>snapshot</c>):
/// rows by manifest (GraphSerializer's codes), rows of the index slices (events not yet folded into a snapshot)
/// and of the profiles, and profile persistence ids.
/// </summary>
public static class StorageStats
{
    public static int Run(string persistence, string? summaryFile)
    {
        using DbConnection connection = persistence.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase)
            ? new SqliteConnection($"Data Source={persistence["sqlite:".Length..]};Mode=ReadOnly")
            : new NpgsqlConnection(persistence[(persistence.IndexOf(':', StringComparison.Ordinal) + 1)..]);
        connection.Open();
        var result = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["journalRows"] = Scalar(connection, "SELECT count(*) FROM journal"),
            // Every row ever inserted (the ordering column is an identity): index slices delete their events behind
            // each snapshot, so the rows left undercount the writes.
            ["journalRowsWritten"] = Scalar(connection, "SELECT COALESCE(max(ordering), 0) FROM journal"),
            ["snapshotRows"] = Scalar(connection, "SELECT count(*) FROM snapshot"),
            ["indexSliceRows"] = Scalar(connection, "SELECT count(*) FROM journal WHERE persistence_id LIKE 'index-%'"),
            ["profileRows"] = Scalar(connection, "SELECT count(*) FROM journal WHERE persistence_id LIKE 'profile-%'"),
            ["profileEntities"] = Scalar(connection, "SELECT count(DISTINCT persistence_id) FROM journal WHERE persistence_id LIKE 'profile-%'"),
        };
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT manifest, count(*) FROM journal GROUP BY manifest ORDER BY manifest";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                result["manifest_" + (reader.IsDBNull(0) ? "none" : reader.GetString(0))] = reader.GetInt64(1);
            }
        }

        Console.WriteLine(string.Join(' ', result.Select(p => $"{p.Key}={p.Value}")));
        if (summaryFile is not null)
        {
            File.WriteAllText(summaryFile, JsonSerializer.Serialize(result));
        }

        return 0;
    }

    private static long Scalar(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
