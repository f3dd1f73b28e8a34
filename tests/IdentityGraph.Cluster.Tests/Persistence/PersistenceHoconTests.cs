using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Query;
using IdentityGraph.Cluster.Persistence;

namespace IdentityGraph.Cluster.Tests.Persistence;

public sealed class PersistenceHoconTests
{
    private static readonly StorageSettings Sqlite = StorageSettings.Parse("sqlite:/tmp/identitygraph-hocon/graph.db");
    private static readonly StorageSettings Postgres =
        StorageSettings.Parse("postgres:Host=db;Database=ig;Username=ig;Password='p\"a\\ss;w''rd'");

    [Fact]
    public void Plugin_ids_are_the_plugins_own()
    {
        Assert.Equal(SqlPersistence.JournalConfigPath, PersistenceHocon.JournalPluginId);
        Assert.Equal(SqlPersistence.SnapshotStoreConfigPath, PersistenceHocon.SnapshotPluginId);
        Assert.Equal(PersistenceHocon.QueryPluginId, SqlReadJournal.Identifier);
        Assert.Equal(LinqToDB.ProviderName.SQLiteMS, PersistenceHocon.SqliteProvider);
        Assert.Equal(LinqToDB.ProviderName.PostgreSQL15, PersistenceHocon.PostgresProvider);
    }

    [Theory]
    [InlineData(StorageBackend.Sqlite)]
    [InlineData(StorageBackend.Postgres)]
    public void Journal_snapshot_and_query_blocks_are_complete(StorageBackend backend)
    {
        var storage = backend == StorageBackend.Sqlite ? Sqlite : Postgres;
        var config = PersistenceHocon.ToConfig(storage);
        var journal = config.GetConfig(PersistenceHocon.JournalPluginId);
        var snapshot = config.GetConfig(PersistenceHocon.SnapshotPluginId);
        var query = config.GetConfig(PersistenceHocon.QueryPluginId);

        Assert.Equal(PersistenceHocon.JournalPluginId, config.GetString("akka.persistence.journal.plugin"));
        Assert.Equal(PersistenceHocon.SnapshotPluginId, config.GetString("akka.persistence.snapshot-store.plugin"));
        // The journal, snapshot store and read journal are the plugin's own.
        Assert.Equal(typeof(Akka.Persistence.Sql.Journal.SqlWriteJournal), Type.GetType(journal.GetString("class")));
        Assert.Equal(typeof(Akka.Persistence.Sql.Snapshot.SqlSnapshotStore), Type.GetType(snapshot.GetString("class")));
        Assert.Contains("Akka.Persistence.Sql", query.GetString("class"), StringComparison.Ordinal);
        foreach (var block in new[] { journal, snapshot, query })
        {
            Assert.Equal(storage.ConnectionString, block.GetString("connection-string"));
            Assert.Equal(PersistenceHocon.ProviderName(backend), block.GetString("provider-name"));
        }

        Assert.True(journal.GetBoolean("auto-initialize"));
        Assert.True(snapshot.GetBoolean("auto-initialize"));
        Assert.Equal("Csv", journal.GetString("tag-write-mode"));
        Assert.Equal("Csv", query.GetString("tag-read-mode"));
        Assert.Equal(PersistenceHocon.JournalPluginId, query.GetString("write-plugin"));
        // Only the retry inside a woken read (the outbox no longer polls): short, or every read waits it out.
        Assert.Equal(TimeSpan.FromMilliseconds(10), query.GetTimeSpan("refresh-interval"));
        Assert.Equal(TimeSpan.FromMilliseconds(20), query.GetTimeSpan("journal-sequence-retrieval.query-delay"));
        // A gap in the ordering is waited for 10 s (20 ms × 500), the plugin's own default, before it is skipped.
        Assert.Equal(500, query.GetInt("journal-sequence-retrieval.max-tries"));
        Assert.Equal(backend == StorageBackend.Sqlite ? 1 : 3, journal.GetInt("parallelism"));
        // SQLite reads in deferred transactions (read-uncommitted), not IMMEDIATE ones that take the write lock.
        foreach (var block in new[] { journal, snapshot, query })
        {
            Assert.Equal(backend == StorageBackend.Sqlite ? "read-uncommitted" : "unspecified", block.GetString("read-isolation-level"));
        }
    }

    [Fact]
    public void Profile_tag_adapter_is_bound_to_protobuf_messages()
    {
        var journal = PersistenceHocon.ToConfig(Sqlite).GetConfig(PersistenceHocon.JournalPluginId);

        var adapterType = journal.GetString("event-adapters." + PersistenceHocon.ProfileTagAdapterName);
        Assert.Equal(typeof(ProfileTagAdapter), Type.GetType(adapterType, throwOnError: true));
        var bindings = journal.GetConfig("event-adapter-bindings").Root.GetObject().Unwrapped;
        var binding = Assert.Single(bindings);
        Assert.Equal(PersistenceHocon.ProfileTagAdapterBinding, binding.Key);
        Assert.Equal(typeof(Google.Protobuf.IMessage), Type.GetType(binding.Key, throwOnError: true));
    }

    [Fact]
    public void Tuning_is_applied()
    {
        var tuning = new PersistenceTuning
        {
            RefreshInterval = TimeSpan.FromMilliseconds(20),
            SequenceQueryDelay = TimeSpan.FromMilliseconds(10),
            SequenceMaxTries = 1000,
            PostgresParallelism = 6,
        };
        var config = PersistenceHocon.ToConfig(Postgres, tuning);

        Assert.Equal(TimeSpan.FromMilliseconds(20), config.GetTimeSpan("akka.persistence.query.journal.sql.refresh-interval"));
        Assert.Equal(1000, config.GetInt("akka.persistence.query.journal.sql.journal-sequence-retrieval.max-tries"));
        Assert.Equal(6, config.GetInt("akka.persistence.journal.sql.parallelism"));
        Assert.Equal(1, PersistenceHocon.ToConfig(Sqlite, tuning).GetInt("akka.persistence.journal.sql.parallelism"));
        Assert.Throws<ArgumentOutOfRangeException>(() => PersistenceHocon.Build(Sqlite, tuning with { SequenceMaxTries = 0 }));
    }
}
