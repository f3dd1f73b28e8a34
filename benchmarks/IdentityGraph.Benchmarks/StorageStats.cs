using System.Data.Common;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace IdentityGraph.Benchmarks;

/// <summary>
/// Counts what a run left in the journal (Akka.Persistence.Sql's default tables <c>journal</c> and <c>snapshot</c>):
/// rows by manifest (GraphSerializer's codes: io = identifier owner set, pc/po/pa/pm/pe = profile events) and
/// persistence ids by entity type.
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
            ["snapshotRows"] = Scalar(connection, "SELECT count(*) FROM snapshot"),
            ["identifierEntities"] = Scalar(connection, "SELECT count(DISTINCT persistence_id) FROM journal WHERE persistence_id LIKE 'identifier-%'"),
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
