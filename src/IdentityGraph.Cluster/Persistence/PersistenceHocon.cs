using System.Globalization;
using System.Text;
using Akka.Configuration;

namespace IdentityGraph.Cluster.Persistence;

/// <summary>
/// Query-side tuning of the SQL journal. The outbox reads when a write wakes it
/// (<see cref="Publishing.ProfileChangeSignal"/>), not on a poll; what such a read still waits for is the journal
/// sequence actor (<see cref="SequenceQueryDelay"/>), which must have seen the new ordering, re-asked every
/// <see cref="RefreshInterval"/>.
/// </summary>
public sealed record PersistenceTuning
{
    public static PersistenceTuning Default { get; } = new();

    /// <summary>
    /// How long a query waits before it asks again for events the sequence actor has not confirmed yet
    /// (<c>refresh-interval</c>). Nothing polls with it any more — the outbox runs finite <c>CurrentEventsByTag</c>
    /// reads when a write wakes it — so it only matters inside such a read, right after the write: at 50 ms every woken
    /// read waited about 50 ms for the sequence actor's next look (measured on a busy 2-core machine, from a durable
    /// write to its delivery to Kafka: p50 88 ms, as with the old 50 ms poll; at 10 ms, p50 54 ms).
    /// </summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// How often the journal sequence actor reads the highest ordering (<c>journal-sequence-retrieval.query-delay</c>):
    /// the plugin's gap detection, which every tag query waits for. Lowered to 10 ms (or even 1 ms, with a 1 ms refresh
    /// interval) it shortened a woken read by a few milliseconds only (p50 ≈ 25–30 ms either way on the same machine):
    /// the read's own queries are the rest.
    /// </summary>
    public TimeSpan SequenceQueryDelay { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// How many sequence queries an ordering gap survives before the query assumes it will never be filled
    /// (<c>journal-sequence-retrieval.max-tries</c>). The give-up time is <c>query-delay × max-tries</c>; the
    /// default keeps the plugin's own 10 s (1 s × 10) so that a slow transaction's event is not skipped.
    /// </summary>
    public int SequenceMaxTries { get; init; } = 500;

    /// <summary>Concurrent journal writers on PostgreSQL (<c>parallelism</c>); SQLite always uses one.</summary>
    public int PostgresParallelism { get; init; } = 3;

    /// <summary>
    /// How long the journal's and snapshot store's circuit breakers stay open after repeated failures before they let
    /// a call try again (<c>circuit-breaker.reset-timeout</c>). Akka's 30 s kept every write failing for up to 30 s
    /// after the database was back; one trial call every 2 s costs nothing during an outage.
    /// </summary>
    public TimeSpan CircuitBreakerResetTimeout { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// HOCON for Akka.Persistence.Sql (1.5.73): journal, snapshot store and read journal over the same database, tags stored as CSV in the journal row, tables created on start, and <see cref="ProfileTagAdapter"/> bound on the
/// journal. The plugin ids are the plugin's own, so its reference configuration supplies every other default.
/// </summary>
/// <remarks>
/// The result contains the connection string with its secrets: never log it; log
/// <see cref="StorageSettings.DisplayString"/>. For SQLite call <see cref="StorageSettings.Prepare"/> before the actor
/// system starts (directory, WAL).
/// </remarks>
public static class PersistenceHocon
{
    /// <summary>The journal plugin id (the default journal).</summary>
    public const string JournalPluginId = "akka.persistence.journal.sql";

    /// <summary>The snapshot store plugin id (the default snapshot store).</summary>
    public const string SnapshotPluginId = "akka.persistence.snapshot-store.sql";

    /// <summary>The read journal id for <c>PersistenceQuery.ReadJournalFor&lt;SqlReadJournal&gt;</c> (= <c>SqlReadJournal.Identifier</c>).</summary>
    public const string QueryPluginId = "akka.persistence.query.journal.sql";

    /// <summary>The tag <see cref="ProfileTagAdapter"/> puts on profile events, read by the outbox projection.</summary>
    public const string ProfileTag = "profile";

    /// <summary>The linq2db provider name for SQLite through Microsoft.Data.Sqlite.</summary>
    public const string SqliteProvider = "SQLite.MS";

    /// <summary>The linq2db provider name for PostgreSQL (15 and newer).</summary>
    public const string PostgresProvider = "PostgreSQL.15";

    /// <summary>The name of <see cref="ProfileTagAdapter"/> in the journal's <c>event-adapters</c>.</summary>
    public const string ProfileTagAdapterName = "profile-tag";

    /// <summary>The event type the adapter is bound to: every protobuf message (the adapter picks the profile events).</summary>
    public const string ProfileTagAdapterBinding = "Google.Protobuf.IMessage, Google.Protobuf";

    public static string ProviderName(StorageBackend backend) => backend switch
    {
        StorageBackend.Sqlite => SqliteProvider,
        StorageBackend.Postgres => PostgresProvider,
        _ => throw new ArgumentOutOfRangeException(nameof(backend), backend, "Unknown storage backend."),
    };

    /// <summary>The persistence HOCON for <paramref name="storage"/>; contains secrets.</summary>
    public static string Build(StorageSettings storage, PersistenceTuning? tuning = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        tuning ??= PersistenceTuning.Default;
        if (tuning.SequenceMaxTries < 1 || tuning.PostgresParallelism < 1 ||
            tuning.RefreshInterval <= TimeSpan.Zero || tuning.SequenceQueryDelay <= TimeSpan.Zero ||
            tuning.CircuitBreakerResetTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(tuning), "Persistence tuning values must be positive.");
        }

        var connection = Quote(storage.ConnectionString);
        var provider = Quote(ProviderName(storage.Backend));
        var parallelism = storage.Backend == StorageBackend.Sqlite ? 1 : tuning.PostgresParallelism;
        // SQLite: the plugin reads inside a transaction at the configured isolation level, and Microsoft.Data.Sqlite
        // begins every transaction but a read-uncommitted one IMMEDIATE, i.e. holding the database's one write lock.
        // Every recovery read then queued behind the journal's writes, each collision sleeping 150 ms in the driver's
        // busy retry (the CPU idle, an import falling from ~800 to ~50 journal rows/s). Read-uncommitted begins a
        // deferred transaction: a plain WAL reader that sees committed data (without shared cache, SQLite ignores the
        // read_uncommitted pragma it sets). PostgreSQL keeps its default.
        var readIsolation = storage.Backend == StorageBackend.Sqlite ? "read-uncommitted" : "unspecified";
        var adapterType = typeof(ProfileTagAdapter);
        var adapter = Quote(AssemblyQualified(adapterType));
        var resetTimeout = Millis(tuning.CircuitBreakerResetTimeout);
        var journalType = Quote(AssemblyQualified(typeof(Akka.Persistence.Sql.Journal.SqlWriteJournal)));
        var snapshotType = Quote(AssemblyQualified(typeof(Akka.Persistence.Sql.Snapshot.SqlSnapshotStore)));

        var hocon = new StringBuilder();
        hocon.Append(CultureInfo.InvariantCulture, $$"""
            akka.persistence {
              journal {
                plugin = "{{JournalPluginId}}"
                sql {
                  class = {{journalType}}
                  connection-string = {{connection}}
                  provider-name = {{provider}}
                  auto-initialize = on
                  parallelism = {{parallelism}}
                  read-isolation-level = {{readIsolation}}
                  tag-write-mode = Csv
                  # Bound parameters instead of linq2db's literals for a batch of rows: on PostgreSQL each payload
                  # was written as a hex literal into the statement text, an SQL string of about twice the payload
                  # built per batch (often on the large object heap, 29 instead of 7 full collections in a 40,000-
                  # observation run) and parsed again by the server: 6,500 → 8,400 observations/s (benchmarks/README.md).
                  prefer-parameters-on-multirow-insert = on
                  circuit-breaker.reset-timeout = {{resetTimeout}}
                  event-adapters {
                    {{ProfileTagAdapterName}} = {{adapter}}
                  }
                  event-adapter-bindings {
                    "{{ProfileTagAdapterBinding}}" = {{ProfileTagAdapterName}}
                  }
                }
              }
              snapshot-store {
                plugin = "{{SnapshotPluginId}}"
                sql {
                  class = {{snapshotType}}
                  connection-string = {{connection}}
                  provider-name = {{provider}}
                  read-isolation-level = {{readIsolation}}
                  auto-initialize = on
                  circuit-breaker.reset-timeout = {{resetTimeout}}
                }
              }
              query.journal.sql {
                class = "Akka.Persistence.Sql.Query.SqlReadJournalProvider, Akka.Persistence.Sql"
                write-plugin = "{{JournalPluginId}}"
                connection-string = {{connection}}
                provider-name = {{provider}}
                tag-read-mode = Csv
                read-isolation-level = {{readIsolation}}
                refresh-interval = {{Millis(tuning.RefreshInterval)}}
                journal-sequence-retrieval {
                  query-delay = {{Millis(tuning.SequenceQueryDelay)}}
                  max-tries = {{tuning.SequenceMaxTries}}
                }
              }
            }

            """);
        return hocon.ToString();
    }

    /// <summary><see cref="Build"/> parsed into an Akka <see cref="Config"/>.</summary>
    public static Config ToConfig(StorageSettings storage, PersistenceTuning? tuning = null) =>
        ConfigurationFactory.ParseString(Build(storage, tuning));

    private static string AssemblyQualified(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    private static string Millis(TimeSpan value) =>
        Math.Max(1L, (long)Math.Ceiling(value.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) + "ms";

    /// <summary>A HOCON quoted string (JSON escaping).</summary>
    internal static string Quote(string value)
    {
        var quoted = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': quoted.Append("\\\""); break;
                case '\\': quoted.Append("\\\\"); break;
                case '\n': quoted.Append("\\n"); break;
                case '\r': quoted.Append("\\r"); break;
                case '\t': quoted.Append("\\t"); break;
                default:
                    if (char.IsControl(c))
                    {
                        quoted.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    }
                    else
                    {
                        quoted.Append(c);
                    }

                    break;
            }
        }

        return quoted.Append('"').ToString();
    }
}
