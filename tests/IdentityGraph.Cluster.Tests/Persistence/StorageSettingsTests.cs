using IdentityGraph.Cluster.Persistence;
using Microsoft.Data.Sqlite;

namespace IdentityGraph.Cluster.Tests.Persistence;

public sealed class StorageSettingsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("identitygraph-settings-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Missing_spec_means_the_default_sqlite_file(string? spec)
    {
        var settings = StorageSettings.Parse(spec, _directory);

        Assert.Equal(StorageBackend.Sqlite, settings.Backend);
        Assert.Equal(Path.Combine(_directory, "data", "identitygraph.db"), settings.SqliteFile);
        Assert.Equal("sqlite:" + settings.SqliteFile, settings.DisplayString);
    }

    [Fact]
    public void Sqlite_path_resolves_against_the_base_directory_and_sets_a_default_timeout()
    {
        var settings = StorageSettings.Parse("SQLite:state/graph.db", _directory);

        Assert.Equal(Path.Combine(_directory, "state", "graph.db"), settings.SqliteFile);
        var builder = new SqliteConnectionStringBuilder(settings.ConnectionString);
        Assert.Equal(settings.SqliteFile, builder.DataSource);
        Assert.Equal(StorageSettings.SqliteDefaultTimeoutSeconds, builder.DefaultTimeout);
    }

    [Fact]
    public void Absolute_sqlite_path_is_kept()
    {
        var file = Path.Combine(_directory, "abs.db");
        Assert.Equal(file, StorageSettings.Parse("sqlite:" + file, "/elsewhere").SqliteFile);
    }

    [Theory]
    [InlineData("sqlite:")]
    [InlineData("sqlite::memory:")]
    [InlineData("sqlite:file:graph.db?mode=memory")]
    [InlineData("sqlite:Data Source=graph.db")]
    public void Unusable_sqlite_specs_are_rejected(string spec)
    {
        var e = Assert.Throws<StorageSettingsException>(() => StorageSettings.Parse(spec, _directory));
        Assert.Contains("sqlite:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sqlite_directory_is_rejected()
    {
        var e = Assert.Throws<StorageSettingsException>(() => StorageSettings.Parse("sqlite:" + _directory));
        Assert.Contains("directory", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgres:")]
    [InlineData("postgresql:Host=db;Database=ig;Password=p")]
    public void Postgres_prefixes(string spec)
    {
        if (spec == "postgres:")
        {
            Assert.Throws<StorageSettingsException>(() => StorageSettings.Parse(spec));
        }
        else
        {
            Assert.Equal(StorageBackend.Postgres, StorageSettings.Parse(spec).Backend);
        }
    }

    [Fact]
    public void Postgres_password_is_redacted_for_display_but_kept_for_connecting()
    {
        var settings = StorageSettings.Parse("postgres:Host=db.internal;Port=6432;Database=identitygraph;Username=ig;Password=s3cr\"et;SSL Password=k3y");

        Assert.Equal(StorageBackend.Postgres, settings.Backend);
        Assert.Null(settings.SqliteFile);
        Assert.DoesNotContain("s3cr", settings.DisplayString, StringComparison.Ordinal);
        Assert.DoesNotContain("k3y", settings.DisplayString, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr", settings.ToString(), StringComparison.Ordinal);
        Assert.Contains("Password=***", settings.DisplayString, StringComparison.Ordinal);
        Assert.Contains("Host=db.internal", settings.DisplayString, StringComparison.Ordinal);
        Assert.StartsWith("postgres:", settings.DisplayString, StringComparison.Ordinal);

        var builder = new Npgsql.NpgsqlConnectionStringBuilder(settings.ConnectionString);
        Assert.Equal("s3cr\"et", builder.Password);
        Assert.Equal(6432, builder.Port);
    }

    [Theory]
    [InlineData("postgres:Host=db;Database=ig", true)]
    [InlineData("postgres:Host=db;Database=ig;No Reset On Close=false", false)]
    [InlineData("postgres:Host=db;Database=ig;noresetonclose=false", false)]
    public void Postgres_connections_skip_the_reset_on_return_to_the_pool_unless_told_otherwise(string spec, bool expected) =>
        Assert.Equal(expected, new Npgsql.NpgsqlConnectionStringBuilder(StorageSettings.Parse(spec).ConnectionString).NoResetOnClose);

    [Theory]
    [InlineData("postgres:Host=db;Database=ig", 8, 7, "identitygraph-probe")]
    [InlineData("postgres:Host=db;Database=ig;Maximum Pool Size=30;Application Name=shop", 8, 30, "shop-probe")]
    public void Postgres_probes_get_one_connection_of_their_own_out_of_the_budget(string spec, int budget, int journalPool, string probeName)
    {
        var settings = StorageSettings.Parse(spec, maxPoolSize: budget);
        var journal = new Npgsql.NpgsqlConnectionStringBuilder(settings.ConnectionString);
        var probes = new Npgsql.NpgsqlConnectionStringBuilder(settings.StatusConnectionString);

        Assert.Equal(journalPool, journal.MaxPoolSize);
        Assert.Equal(1, probes.MaxPoolSize);
        Assert.Equal(probeName, probes.ApplicationName);
        Assert.Equal(journal.Host, probes.Host);
        Assert.Equal(journal.Database, probes.Database);
    }

    [Fact]
    public void Postgres_budget_of_one_connection_is_refused()
    {
        var e = Assert.Throws<StorageSettingsException>(() => StorageSettings.Parse("postgres:Host=db;Database=ig", maxPoolSize: 1));
        Assert.Contains("at least two PostgreSQL connections", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Postgres_without_password_displays_in_full()
    {
        var settings = StorageSettings.Parse("postgres:Host=localhost;Database=ig;Username=ig");
        Assert.DoesNotContain("***", settings.DisplayString, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgres:Database=ig;Password=hunter2", "Host")]
    [InlineData("postgres:Host=db;Password=hunter2", "Database")]
    [InlineData("postgres:Host=db;Database=ig;Pasword=hunter2", "invalid connection string")]
    [InlineData("postgres:garbage hunter2", "invalid connection string")]
    [InlineData("postgres://ig:hunter2@db/ig", "not a URL")]
    [InlineData("mysql:Server=db;Password=hunter2", "Unknown storage scheme 'mysql:'")]
    [InlineData("Host=db;Database=ig;Password=hunter2", "Unknown storage specification")]
    [InlineData("hunter2", "expected 'sqlite:PATH'")]
    public void Bad_specs_fail_with_a_clear_message_that_never_echoes_secrets(string spec, string expected)
    {
        var e = Assert.Throws<StorageSettingsException>(() => StorageSettings.Parse(spec));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_creates_the_directory_and_switches_sqlite_to_wal()
    {
        var settings = StorageSettings.Parse("sqlite:nested/deeper/graph.db", _directory);

        settings.Prepare();
        settings.Prepare(); // idempotent

        Assert.True(File.Exists(settings.SqliteFile));
        using var connection = new SqliteConnection(settings.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public void Prepare_reports_an_unwritable_location()
    {
        var blocker = Path.Combine(_directory, "file");
        File.WriteAllText(blocker, "not a directory");
        var settings = StorageSettings.Parse("sqlite:file/graph.db", _directory);

        var e = Assert.Throws<StorageSettingsException>(settings.Prepare);
        Assert.Contains(settings.DisplayString, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_does_nothing_for_postgres()
    {
        StorageSettings.Parse("postgres:Host=127.0.0.1;Port=1;Database=none").Prepare();
    }
}
