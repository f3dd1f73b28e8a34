using Microsoft.Data.Sqlite;
using Npgsql;

namespace IdentityGraph.Cluster.Persistence;

/// <summary>Where the journal and snapshots live.</summary>
public enum StorageBackend
{
    /// <summary>An embedded SQLite file (development, demo, single node).</summary>
    Sqlite,

    /// <summary>A PostgreSQL server (production).</summary>
    Postgres,
}

/// <summary>A storage specification that cannot be used; the message says what is wrong and what is expected.</summary>
public sealed partial class StorageSettingsException(string message) : Exception(message);

/// <summary>
/// The storage specification of the command line and configuration: <c>sqlite:PATH</c> or
/// <c>postgres:CONNECTION STRING</c> (Npgsql key=value form). Named <c>StorageSettings</c> rather than
/// <c>PersistenceSettings</c> so that it never clashes with <c>Akka.Persistence.PersistenceSettings</c>.
/// </summary>
/// <remarks>
/// <see cref="ConnectionString"/> holds secrets (a PostgreSQL password); log <see cref="DisplayString"/> instead.
/// <see cref="ToString"/> returns the display string too.
/// </remarks>
public sealed partial class StorageSettings
{
    /// <summary>The specification used when none is given.</summary>
    public const string DefaultSpec = "sqlite:./data/identitygraph.db";

    /// <summary>
    /// PostgreSQL connections one node opens at most (Npgsql's <c>Maximum Pool Size</c>, whose own default of 100 is
    /// PostgreSQL's whole <c>max_connections</c>): size it so that nodes × pool stays below the server's limit.
    /// </summary>
    public const int DefaultMaxPoolSize = 20;

    /// <summary>SQLite's busy wait and command timeout (<c>Default Timeout</c> in the connection string), in seconds.</summary>
    public const int SqliteDefaultTimeoutSeconds = 30;

    private const string SqlitePrefix = "sqlite:";
    private const string PostgresPrefix = "postgres:";
    private const string PostgresqlPrefix = "postgresql:";
    private const string Redacted = "***";

    private static readonly string[] SecretKeys = ["Password", "SSL Password"];

    private StorageSettings(StorageBackend backend, string connectionString, string? sqliteFile, string displayString, string? statusConnectionString = null)
    {
        Backend = backend;
        ConnectionString = connectionString;
        StatusConnectionString = statusConnectionString ?? connectionString;
        SqliteFile = sqliteFile;
        DisplayString = displayString;
    }

    public StorageBackend Backend { get; }

    /// <summary>The provider connection string, secrets included: never log it.</summary>
    public string ConnectionString { get; }

    /// <summary>
    /// The connection string of the node's own probes (readiness, journal gate, outbox lag): on PostgreSQL a pool of
    /// one connection of its own, taken from the node's budget, so that probes never wait behind the journal and the
    /// node never opens more than its budget. Secrets included: never log it.
    /// </summary>
    public string StatusConnectionString { get; }

    /// <summary>The absolute path of the SQLite database file; null for PostgreSQL.</summary>
    public string? SqliteFile { get; }

    /// <summary>The specification with every secret replaced by <c>***</c>: safe for logs and error messages.</summary>
    public string DisplayString { get; }

    public static StorageSettings Default => Parse(DefaultSpec);

    /// <summary>
    /// Parses <c>sqlite:PATH</c> (relative paths resolve against <paramref name="baseDirectory"/>, by default the
    /// current directory) or <c>postgres:KEY=VALUE;...</c>. Null or blank means <see cref="DefaultSpec"/>.
    /// Has no side effects; call <see cref="Prepare"/> before the actor system starts.
    /// </summary>
    /// <exception cref="StorageSettingsException">The specification is not usable.</exception>
    /// <param name="spec">The specification.</param>
    /// <param name="baseDirectory">Where relative SQLite paths start.</param>
    /// <param name="maxPoolSize">PostgreSQL: the connection pool's size unless the connection string sets <c>Maximum Pool Size</c>.</param>
    public static StorageSettings Parse(string? spec, string? baseDirectory = null, int maxPoolSize = DefaultMaxPoolSize)
    {
        spec = string.IsNullOrWhiteSpace(spec) ? DefaultSpec : spec.Trim();

        if (spec.StartsWith(SqlitePrefix, StringComparison.OrdinalIgnoreCase))
        {
            return ParseSqlite(spec[SqlitePrefix.Length..].Trim(), baseDirectory);
        }

        if (spec.StartsWith(PostgresqlPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return ParsePostgres(spec[PostgresqlPrefix.Length..].Trim(), maxPoolSize);
        }

        if (spec.StartsWith(PostgresPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return ParsePostgres(spec[PostgresPrefix.Length..].Trim(), maxPoolSize);
        }

        throw new StorageSettingsException(
            $"Unknown {Describe(spec)}: expected 'sqlite:PATH' (for example '{DefaultSpec}') " +
            "or 'postgres:CONNECTION STRING' (for example 'postgres:Host=db;Database=identitygraph;Username=ig;Password=...').");
    }

    /// <summary>
    /// Makes the storage ready before the actor system starts. SQLite: creates the file's directory and switches the
    /// database to write-ahead logging (<c>PRAGMA journal_mode=WAL</c>, which persists in the file), so that the
    /// query side reads while the journal writes. PostgreSQL: nothing (the plugin creates its tables).
    /// Idempotent.
    /// </summary>
    /// <exception cref="StorageSettingsException">The SQLite file cannot be created or switched to WAL.</exception>
    public void Prepare()
    {
        if (Backend != StorageBackend.Sqlite)
        {
            return;
        }

        try
        {
            var directory = Path.GetDirectoryName(SqliteFile);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            using var connection = new SqliteConnection(ConnectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL;";
            var mode = command.ExecuteScalar() as string;
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new StorageSettingsException(
                    $"SQLite database {DisplayString} could not be switched to write-ahead logging (journal_mode is '{mode}').");
            }
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new StorageSettingsException($"SQLite database {DisplayString} cannot be opened: {e.Message}");
        }
    }

    public override string ToString() => DisplayString;

    private static StorageSettings ParseSqlite(string path, string? baseDirectory)
    {
        if (path.Length == 0)
        {
            throw new StorageSettingsException(
                $"Storage 'sqlite:' needs a file path, for example '{DefaultSpec}'.");
        }

        if (path.StartsWith(':') || path.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || LooksLikeConnectionString(path))
        {
            throw new StorageSettingsException(
                $"Storage 'sqlite:{path}' is not a file path: give a plain path such as '{DefaultSpec}' " +
                "(in-memory databases, URIs and connection strings are not supported; the journal must survive a restart).");
        }

        string file;
        try
        {
            file = Path.GetFullPath(path, baseDirectory ?? Directory.GetCurrentDirectory());
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new StorageSettingsException($"Storage 'sqlite:{path}' is not a valid file path: {e.Message}");
        }

        if (Directory.Exists(file))
        {
            throw new StorageSettingsException($"Storage 'sqlite:{path}' is a directory; give the database file's path.");
        }

        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = file,
            Mode = SqliteOpenMode.ReadWriteCreate,
            DefaultTimeout = SqliteDefaultTimeoutSeconds,
        };
        return new StorageSettings(StorageBackend.Sqlite, builder.ConnectionString, file, SqlitePrefix + file);
    }

    private static StorageSettings ParsePostgres(string connectionString, int maxPoolSize)
    {
        if (maxPoolSize < 2)
        {
            throw new StorageSettingsException($"A node needs at least two PostgreSQL connections, one for the journal and one for its probes (was {maxPoolSize}).");
        }

        if (connectionString.Length == 0)
        {
            throw new StorageSettingsException(
                "Storage 'postgres:' needs a connection string, for example 'postgres:Host=db;Database=identitygraph;Username=ig;Password=...'.");
        }

        if (connectionString.StartsWith("//", StringComparison.Ordinal) || connectionString.Contains("://", StringComparison.Ordinal))
        {
            throw new StorageSettingsException(
                "Storage 'postgres:' takes a key=value connection string (Host=...;Database=...;Username=...), not a URL.");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            // The parser's message may quote the offending text, which may be a password: say only what kind of problem.
            throw new StorageSettingsException(
                $"Storage 'postgres:' has an invalid connection string ({e.GetType().Name}); expected key=value pairs " +
                "such as 'Host=db;Database=identitygraph;Username=ig;Password=...'. Keywords: see the Npgsql documentation.");
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new StorageSettingsException("Storage 'postgres:' connection string has no Host.");
        }

        if (string.IsNullOrWhiteSpace(builder.Database))
        {
            throw new StorageSettingsException("Storage 'postgres:' connection string has no Database.");
        }

        // Measured (benchmarks/README.md): returning a connection to the pool costs a DISCARD ALL round trip per query,
        // half of PostgreSQL's transactions. The journal sets no session state that could leak, so skip it unless the
        // connection string says otherwise.
        if (!NoResetOnCloseKeyword().IsMatch(connectionString))
        {
            builder.NoResetOnClose = true;
        }

        // Bounded, so that a node cannot take every connection the server has (during an outage the journal, recoveries
        // and probes all open new ones): the journal's pool and the probes' one connection together make the budget.
        // The connection string's own value wins for the journal's pool.
        if (!MaxPoolSizeKeyword().IsMatch(connectionString))
        {
            builder.MaxPoolSize = maxPoolSize - 1;
            builder.MinPoolSize = Math.Min(builder.MinPoolSize, maxPoolSize - 1);
        }

        // A different connection string is a different Npgsql pool; the application name shows it in pg_stat_activity.
        var status = new NpgsqlConnectionStringBuilder(builder.ConnectionString)
        {
            MaxPoolSize = 1,
            MinPoolSize = 0,
            ApplicationName = string.IsNullOrEmpty(builder.ApplicationName) ? "identitygraph-probe" : builder.ApplicationName + "-probe",
        };

        var display = new NpgsqlConnectionStringBuilder(builder.ConnectionString);
        foreach (var key in SecretKeys)
        {
            if (display.TryGetValue(key, out var value) && value is string s && s.Length > 0)
            {
                display[key] = Redacted;
            }
        }

        return new StorageSettings(StorageBackend.Postgres, builder.ConnectionString, null, PostgresPrefix + display.ConnectionString, status.ConnectionString);
    }

    private static bool LooksLikeConnectionString(string path) =>
        path.Contains('=', StringComparison.Ordinal) &&
        (path.StartsWith("Data Source", StringComparison.OrdinalIgnoreCase) ||
         path.StartsWith("DataSource", StringComparison.OrdinalIgnoreCase) ||
         path.StartsWith("Filename", StringComparison.OrdinalIgnoreCase));

    // An unrecognised specification may be a connection string with a password in it: name only a scheme-like start.
    private static string Describe(string spec)
    {
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var scheme = colon > 0 ? spec[..colon] : "";
        return scheme.Length is > 0 and <= 20 && scheme.All(char.IsAsciiLetterOrDigit)
            ? $"storage scheme '{scheme}:'"
            : "storage specification";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(^|;)\s*No\s*Reset\s*On\s*Close\s*=", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex NoResetOnCloseKeyword();

    [System.Text.RegularExpressions.GeneratedRegex(@"(^|;)\s*Max(imum)?\s*Pool\s*Size\s*=", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex MaxPoolSizeKeyword();
}
