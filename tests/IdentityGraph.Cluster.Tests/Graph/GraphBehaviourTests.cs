using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Cluster.Entities;
using IdentityGraph.Cluster.Export;
using IdentityGraph.Cluster.Hosting;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Cluster.Tests.Infrastructure;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit.Abstractions;

namespace IdentityGraph.Cluster.Tests.Graph;

/// <summary>
/// What one observation does to a real graph (outcomes, no write when nothing is new, redirect chains, a hot profile,
/// snapshots, restarts). The same suite runs on SQLite and on PostgreSQL.
/// </summary>
public abstract class GraphBehaviourTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    protected abstract Task<StorageSettings> StorageAsync(string purpose);

    protected async Task Resolve_reports_created_nothing_new_linked_and_merged()
    {
        await using var graph = await TestGraph.StartAsync(await StorageAsync("outcomes"));
        var resolver = graph.Resolver;

        var first = Observe("o1", T0, "ann@example.com", "+4512345678");
        var created = await resolver.ResolveAsync(first);
        Assert.Equal(new ResolveResult(ProfileId.For(TestGraph.Normalizer.Normalize(first).Observation!), ResolveOutcome.Created, 0), created);

        Assert.Equal(new ResolveResult(created.ProfileId, ResolveOutcome.NothingNew, 0), await resolver.ResolveAsync(first));

        var linked = await resolver.ResolveAsync(Observe("o2", T0.AddMinutes(1), "ann@example.com", "ann.work@example.com"));
        Assert.Equal(new ResolveResult(created.ProfileId, ResolveOutcome.Linked, 0), linked);

        // A second customer, seen later: a larger id.
        var other = await resolver.ResolveAsync(Observe("o3", T0.AddHours(1), "bob@example.com"));
        Assert.Equal(ResolveOutcome.Created, other.Outcome);
        Assert.True(created.ProfileId < other.ProfileId);

        // They turn out to be one customer: the older profile survives, whichever side the observation names first.
        var merged = await resolver.ResolveAsync(Observe("o4", T0.AddHours(2), "bob@example.com", "ann.work@example.com"));
        Assert.Equal(new ResolveResult(created.ProfileId, ResolveOutcome.Merged, 1), merged);

        foreach (var email in new[] { "ann@example.com", "ann.work@example.com", "bob@example.com" })
        {
            Assert.Equal(created.ProfileId, await resolver.FindProfileByKeyAsync(Key(IdentifierType.Email, email)));
        }

        var survivor = await resolver.GetProfileAsync(other.ProfileId);
        Assert.NotNull(survivor);
        Assert.Equal(ProfileStatus.Live, survivor.Status);
        Assert.Equal([other.ProfileId], survivor.Content.MergedProfileIds.ToList());
        Assert.Equal(4, survivor.Content.Identifiers.Count);

        // Every observation again: all already known.
        foreach (var again in new[] { first, Observe("o2", T0.AddMinutes(1), "ann@example.com", "ann.work@example.com"), Observe("o3", T0.AddHours(1), "bob@example.com"), Observe("o4", T0.AddHours(2), "bob@example.com", "ann.work@example.com") })
        {
            Assert.Equal(new ResolveResult(created.ProfileId, ResolveOutcome.NothingNew, 0), await resolver.ResolveAsync(again));
        }
    }

    protected async Task An_observation_that_changes_nothing_writes_nothing()
    {
        await using var graph = await TestGraph.StartAsync(await StorageAsync("nowrite"), snapshotEvery: 3);
        var observations = new List<Observation>();
        for (var i = 0; i < 30; i++)
        {
            // Chains of three customers' worth of links, seen out of time order, so that merges happen.
            observations.Add(Observe($"nw{i}", T0.AddMinutes(30 - i), $"c{i % 7}@example.com", $"c{(i + 1) % 7}@example.com", $"+45 20 00 00 {i % 5:00}"));
        }

        foreach (var observation in observations)
        {
            await graph.Resolver.ResolveAsync(observation);
        }

        var before = await JournalRows(graph.System);
        Assert.True(before.Total > observations.Count, $"expected the journal to hold the graph, got {before.Total} rows");

        var again = await Task.WhenAll(observations.Select(o => graph.Resolver.ResolveAsync(o)));
        Assert.All(again, r => Assert.Equal(ResolveOutcome.NothingNew, r.Outcome));
        foreach (var observation in observations)
        {
            Assert.Equal(ResolveOutcome.NothingNew, (await graph.Resolver.ResolveAsync(observation)).Outcome);
        }

        AssertSameRows(before, await JournalRows(graph.System));
    }

    /// <summary>
    /// Repeat visits write nothing (docs/profile-merge-policy.md): the same content under new observation ids later the
    /// same UTC day adds no row to the journal table; the next UTC day adds exactly one (the profile's event, which moves
    /// last_seen and updated_at to that day).
    /// </summary>
    protected async Task A_repeat_visit_on_the_same_utc_day_adds_no_journal_row()
    {
        var storage = await StorageAsync("repeat");
        await using var graph = await TestGraph.StartAsync(storage);
        var resolver = graph.Resolver;

        // A visit: two identifiers, a consent decided at the visit (no decided_at), attributes that do not change.
        static Observation Visit(string id, DateTimeOffset at)
        {
            var observation = Observe(id, at, "ann@example.com", "+4512345678");
            observation.Attributes["last_observation"] = "visit";
            observation.Attributes["city"] = "Aarhus";
            observation.Consents.Add(new Consent { Purpose = "marketing", Channel = ContactChannel.Email, Status = ConsentStatus.Granted });
            return observation;
        }

        var created = await resolver.ResolveAsync(Visit("visit-1", T0));
        Assert.Equal(ResolveOutcome.Created, created.Outcome);
        var rows = await JournalTableRows(storage);
        Assert.True(rows >= 2, $"expected the index and the profile in the journal, got {rows} rows");

        // Later the same UTC day (up to 23:59 UTC), one by one and concurrently (micro-batched): nothing new, no row.
        foreach (var (id, at) in new[] { ("visit-2", T0.AddHours(2)), ("visit-0", T0.AddHours(11).AddMinutes(59)) })
        {
            Assert.Equal(new ResolveResult(created.ProfileId, ResolveOutcome.NothingNew, 0), await resolver.ResolveAsync(Visit(id, at)));
        }

        var concurrent = await Task.WhenAll(Enumerable.Range(3, 20).Select(i => resolver.ResolveAsync(Visit($"visit-{i}", T0.AddMinutes(i)))));
        Assert.All(concurrent, r => Assert.Equal(new ResolveResult(created.ProfileId, ResolveOutcome.NothingNew, 0), r));
        Assert.Equal(rows, await JournalTableRows(storage));

        // The next UTC day: one row, and last_seen and updated_at move to that day; first_seen stays exact.
        var nextDay = T0.AddHours(13);
        Assert.Equal(new ResolveResult(created.ProfileId, ResolveOutcome.Linked, 0), await resolver.ResolveAsync(Visit("visit-next-1", nextDay)));
        Assert.Equal(rows + 1, await JournalTableRows(storage));
        var state = await resolver.GetProfileAsync(created.ProfileId);
        Assert.NotNull(state);
        Assert.All(state.Content.Identifiers.Values, r => Assert.Equal((T0, UtcDay.StartOf(nextDay)), (r.FirstSeen, r.LastSeen)));
        Assert.Equal((T0, UtcDay.StartOf(nextDay)), (state.Content.CreatedAt, state.Content.UpdatedAt));

        Assert.Equal(ResolveOutcome.NothingNew, (await resolver.ResolveAsync(Visit("visit-next-2", nextDay.AddHours(9)))).Outcome);
        Assert.Equal(rows + 1, await JournalTableRows(storage));
    }

    protected async Task Lookups_through_a_merge_chain_land_on_the_survivor()
    {
        await using var graph = await TestGraph.StartAsync(await StorageAsync("chain"));
        var resolver = graph.Resolver;

        // Ids order C < B < A: C is the oldest.
        var a = (await resolver.ResolveAsync(Observe("chain-a", T0.AddHours(3), "a@example.com"))).ProfileId;
        var b = (await resolver.ResolveAsync(Observe("chain-b", T0.AddHours(2), "b@example.com"))).ProfileId;
        var c = (await resolver.ResolveAsync(Observe("chain-c", T0.AddHours(1), "c@example.com"))).ProfileId;
        Assert.True(c < b && b < a);

        // A → B, then B → C: A is a redirect to a profile that is itself a redirect.
        var ab = await resolver.ResolveAsync(Observe("chain-ab", T0.AddHours(4), "a@example.com", "b@example.com"));
        Assert.Equal(new ResolveResult(b, ResolveOutcome.Merged, 1), ab);
        var bc = await resolver.ResolveAsync(Observe("chain-bc", T0.AddHours(5), "b@example.com", "c@example.com"));
        Assert.Equal(new ResolveResult(c, ResolveOutcome.Merged, 1), bc);

        foreach (var email in new[] { "a@example.com", "b@example.com", "c@example.com" })
        {
            Assert.Equal(c, await resolver.FindProfileByKeyAsync(Key(IdentifierType.Email, email)));
        }

        Assert.Equal(c, await resolver.FindLiveProfileAsync(a.ToString()));
        var viaOldest = await resolver.GetProfileAsync(a);
        var direct = await resolver.GetProfileAsync(c);
        Assert.NotNull(viaOldest);
        Assert.Equal(direct, viaOldest);
        Assert.Equal(ProfileStatus.Live, viaOldest.Status);
        Assert.Equal(new[] { a, b }.Order().ToList(), viaOldest.Content.MergedProfileIds.ToList());
        Assert.Equal(
            new[] { "a@example.com", "b@example.com", "c@example.com" },
            viaOldest.Content.Identifiers.Values.Select(i => i.Identifier.Value).Order(StringComparer.Ordinal));

        var exported = await ProfileReader.ReadAllAsync(graph.System);
        var live = Assert.Single(exported, p => p.Value.Status == ProfileStatus.Live);
        Assert.Equal(c.ToString(), live.Key);
        Assert.Equal(direct, live.Value);
        Assert.Equal(3, live.Value.Content.Identifiers.Count);
        Assert.Equal(ProfileStatus.MergedAway, exported[a.ToString()].Status);
        Assert.Equal(b, exported[a.ToString()].MergedInto);
        Assert.Equal(ProfileStatus.MergedAway, exported[b.ToString()].Status);
        Assert.Equal(c, exported[b.ToString()].MergedInto);
        Assert.Equal(3, exported.Count);
    }

    protected async Task A_hot_profile_takes_ten_thousand_concurrent_observations()
    {
        const int Count = 10_000;
        const int Concurrency = 200;
        // A hub far beyond the default identifier limit: this measures the hot path, not the guard rail.
        await using var graph = await TestGraph.StartAsync(await StorageAsync("hot"), limits: new ProfileLimits { MaxIdentifiers = 2 * Count });
        var observations = Enumerable.Range(0, Count)
            .Select(i => Observe($"hot-{i}", T0.AddSeconds(i), "family@example.com", $"member{i}@example.com"))
            .ToList();

        var clock = Stopwatch.StartNew();
        var next = -1;
        var results = new ResolveResult[Count];
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Count)
            {
                results[i] = await graph.Resolver.ResolveAsync(observations[i]);
            }
        })));
        output.WriteLine($"{Count} observations on one hot profile, {Concurrency} at a time: {clock.Elapsed.TotalSeconds:F1} s");

        var survivor = await graph.Resolver.FindProfileByKeyAsync(Key(IdentifierType.Email, "family@example.com"));
        Assert.NotNull(survivor);
        var state = await graph.Resolver.GetProfileAsync(survivor.Value);
        Assert.NotNull(state);
        Assert.Equal(Count + 1, state.Content.Identifiers.Count);

        // Every caller heard of a profile that is, or was merged into, the survivor.
        var answered = results.Select(r => r.ProfileId).Distinct().ToList();
        foreach (var id in answered)
        {
            Assert.Equal(survivor, await graph.Resolver.FindLiveProfileAsync(id.ToString()));
        }

        // As many lookups in flight as writers were: 10,000 asks at once only measure the ask time-out on a busy machine.
        var owners = new ProfileId?[Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, Count), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, cancel) =>
            owners[i] = await graph.Resolver.FindProfileByKeyAsync(Key(IdentifierType.Email, observations[i].Identifiers[1].Value), cancel));
        Assert.All(owners, o => Assert.Equal(survivor, o));
        output.WriteLine($"including the checks: {clock.Elapsed.TotalSeconds:F1} s");
    }

    protected async Task A_profile_recovered_from_snapshots_equals_the_profile_before_the_restart()
    {
        const int SnapshotEvery = 5;
        var storage = await StorageAsync("snapshots");
        ProfileId id;
        ProfileState before;
        await using (var graph = await TestGraph.StartAsync(storage, SnapshotEvery))
        {
            id = (await graph.Resolver.ResolveAsync(Observe("snap-0", T0, "snap@example.com"))).ProfileId;
            for (var i = 1; i <= 40; i++)
            {
                var observation = Observe($"snap-{i}", T0.AddMinutes(i), "snap@example.com", $"snap{i}@example.com");
                observation.Consents.Add(new Consent
                {
                    Purpose = "marketing",
                    Channel = ContactChannel.Email,
                    Status = i % 2 == 0 ? ConsentStatus.Granted : ConsentStatus.Denied,
                    DecidedAt = Timestamp.FromDateTimeOffset(T0.AddMinutes(i)),
                });
                await graph.Resolver.ResolveAsync(observation);
            }

            // A younger profile merged in, so that the snapshot carries merged ids and a redirect exists.
            var younger = await graph.Resolver.ResolveAsync(Observe("snap-young", T0.AddDays(1), "young@example.com"));
            await graph.Resolver.ResolveAsync(Observe("snap-merge", T0.AddDays(2), "young@example.com", "snap3@example.com"));

            // And a burst of concurrent observations (batched writes) on the same profile.
            await Task.WhenAll(Enumerable.Range(41, 30).Select(i =>
                graph.Resolver.ResolveAsync(Observe($"snap-{i}", T0.AddMinutes(i), "snap@example.com", $"snap{i}@example.com"))));

            before = (await graph.Resolver.GetProfileAsync(id))!;
            Assert.NotNull(before);
            Assert.True(before.Version > 4 * SnapshotEvery, $"version {before.Version}");
            Assert.Equal([younger.ProfileId], before.Content.MergedProfileIds.ToList());

            var slices = Core.Index.IndexSlices.DefaultSliceCount;
            var snapshot = await LoadSnapshot(graph.System, ProfileSliceEntity.PersistenceIdOf($"{slices}-{ProfileSlices.SliceOf(id, slices)}"));
            Assert.NotNull(snapshot);
            Assert.True(snapshot.Metadata.SequenceNr >= SnapshotEvery, $"snapshot at {snapshot.Metadata.SequenceNr}");
        }

        await using (var graph = await TestGraph.StartAsync(storage, SnapshotEvery))
        {
            var after = await graph.Resolver.GetProfileAsync(id);
            Assert.Equal(before, after);
            Assert.Equal(before.Version, after!.Version);
        }

        // And without the help of any snapshot interval: a graph that snapshots rarely replays to the same state.
        await using (var graph = await TestGraph.StartAsync(storage, snapshotEvery: 1_000_000))
        {
            Assert.Equal(before, await graph.Resolver.GetProfileAsync(id));
        }
    }

    /// <summary>
    /// A (re)started node recovers every index slice when it starts, not when the first observation or lookup reaches
    /// it: the first observations after a restart do not wait for the index to load.
    /// </summary>
    protected async Task The_index_starts_with_the_node()
    {
        var storage = await StorageAsync("index-start");
        await using (var graph = await TestGraph.StartAsync(storage))
        {
            await graph.Resolver.ResolveAsync(Observe("is1", T0, "start@example.com", "+45 30 00 11 00"));
        }

        await using (var graph = await TestGraph.StartAsync(storage))
        {
            await graph.Services.GetRequiredService<IndexStartup>().Started.WaitAsync(TimeSpan.FromSeconds(60));
            var index = graph.Services.GetRequiredService<Akka.Hosting.ActorRegistry>().Get<IndexRegion>();
            var state = await index.Ask<Akka.Cluster.Sharding.CurrentShardRegionState>(Akka.Cluster.Sharding.GetShardRegionState.Instance, TimeSpan.FromSeconds(10));
            var slices = state.Shards.SelectMany(s => s.EntityIds).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(Enumerable.Range(0, Core.Index.IndexSlices.DefaultSliceCount).Select(n => $"{Core.Index.IndexSlices.DefaultSliceCount}-{n}").Order(StringComparer.Ordinal), slices);

            // And they hold the index: the observation's identifiers are found.
            Assert.NotNull(await graph.Resolver.FindProfileByKeyAsync(Key(IdentifierType.Email, "start@example.com")));
        }
    }

    protected async Task A_restarted_graph_holds_all_the_data()
    {
        var storage = await StorageAsync("restart");
        var observations = Enumerable.Range(0, 120)
            .Select(i => Observe($"rs{i}", T0.AddSeconds(997 * i % 600), $"r{i % 50}@example.com", $"r{(i * 3 + 1) % 50}@example.com", $"+45 30 00 {i % 40:00} 00"))
            .ToList();
        var keys = observations.SelectMany(o => o.Identifiers).Select(i => Key(i.Type, i.Value)).Distinct().ToList();

        Dictionary<IdentifierKey, ProfileId?> owners;
        Dictionary<ProfileId, ProfileState?> profiles;
        (long Total, IReadOnlyDictionary<string, long> ByPersistenceId) rows;
        IReadOnlyDictionary<string, ProfileState> exported;
        await using (var graph = await TestGraph.StartAsync(storage))
        {
            await Task.WhenAll(observations.Select(o => graph.Resolver.ResolveAsync(o)));
            (owners, profiles) = await ReadGraph(graph, keys);
            rows = await JournalRows(graph.System);
            exported = await ProfileReader.ReadAllAsync(graph.System);
        }

        Assert.True(profiles.Count > 1, "the scenario should leave more than one live profile");
        await using (var graph = await TestGraph.StartAsync(storage))
        {
            var (ownersAfter, profilesAfter) = await ReadGraph(graph, keys);
            Assert.Equal(owners, ownersAfter);
            Assert.Equal(profiles, profilesAfter);
            AssertSameRows(rows, await JournalRows(graph.System));
            Assert.Equal(exported, await ProfileReader.ReadAllAsync(graph.System));

            // All of it is known: resubmitting changes nothing.
            var again = await Task.WhenAll(observations.Select(o => graph.Resolver.ResolveAsync(o)));
            Assert.All(again, r => Assert.Equal(ResolveOutcome.NothingNew, r.Outcome));
            AssertSameRows(rows, await JournalRows(graph.System));
        }
    }

    private static async Task<(Dictionary<IdentifierKey, ProfileId?> Owners, Dictionary<ProfileId, ProfileState?> Profiles)> ReadGraph(
        TestGraph graph, IReadOnlyList<IdentifierKey> keys)
    {
        var owners = new Dictionary<IdentifierKey, ProfileId?>();
        foreach (var key in keys)
        {
            owners[key] = await graph.Resolver.FindProfileByKeyAsync(key);
        }

        Assert.All(owners.Values, o => Assert.NotNull(o));
        var profiles = new Dictionary<ProfileId, ProfileState?>();
        foreach (var id in owners.Values.Distinct())
        {
            profiles[id!.Value] = await graph.Resolver.GetProfileAsync(id.Value);
        }

        return (owners, profiles);
    }

    private static void AssertSameRows(
        (long Total, IReadOnlyDictionary<string, long> ByPersistenceId) expected, (long Total, IReadOnlyDictionary<string, long> ByPersistenceId) actual)
    {
        Assert.Equal(expected.Total, actual.Total);
        Assert.Equal(expected.ByPersistenceId.ToList(), actual.ByPersistenceId.ToList());
    }

    /// <summary>Rows in the journal table itself (Akka.Persistence.Sql's default table <c>journal</c>), counted in SQL.</summary>
    private static async Task<long> JournalTableRows(StorageSettings storage)
    {
        await using DbConnection connection = storage.Backend == StorageBackend.Sqlite
            ? new SqliteConnection(storage.ConnectionString)
            : new NpgsqlConnection(storage.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM journal";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>Journal rows per persistence id, read through the read journal.</summary>
    private static async Task<(long Total, IReadOnlyDictionary<string, long> ByPersistenceId)> JournalRows(ActorSystem system)
    {
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(PersistenceHocon.QueryPluginId);
        var materializer = system.Materializer();
        var ids = await journal.CurrentPersistenceIds().RunWith(Sink.Seq<string>(), materializer);
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            counts[id] = await journal.CurrentEventsByPersistenceId(id, 0, long.MaxValue)
                .RunAggregate(0L, (n, _) => n + 1, materializer);
        }

        return (counts.Values.Sum(), counts);
    }

    private static async Task<SelectedSnapshot?> LoadSnapshot(ActorSystem system, string persistenceId)
    {
        var store = Akka.Persistence.Persistence.Instance.Apply(system).SnapshotStoreFor(PersistenceHocon.SnapshotPluginId);
        var result = await store.Ask<LoadSnapshotResult>(
            new LoadSnapshot(persistenceId, SnapshotSelectionCriteria.Latest, long.MaxValue), TimeSpan.FromSeconds(30));
        return result.Snapshot;
    }

    private static IdentifierKey Key(IdentifierType type, string value)
    {
        var observation = new Observation { ObservationId = "key", ObservedAt = Timestamp.FromDateTimeOffset(T0) };
        observation.Identifiers.Add(new Identifier { Type = type, Value = value });
        return TestGraph.Normalizer.Normalize(observation).Observation!.Identifiers.Single().Key;
    }

    /// <summary>
    /// Profiles live in slices: a micro-batch writes one journal row per profile slice it touches, holding every changed
    /// profile's published event and state, not a row per profile (docs/architecture.md › What one observation costs).
    /// </summary>
    protected async Task A_batch_writes_one_row_per_profile_slice_not_per_profile()
    {
        const int Customers = 400;
        var storage = await StorageAsync("slices");
        await using var graph = await TestGraph.StartAsync(storage);
        var observations = Enumerable.Range(0, Customers).Select(i => Observe($"sl{i}", T0.AddSeconds(i), $"slice{i}@example.com", $"+45 40 {i / 100:00} {i % 100:00} 00")).ToList();

        var results = await Task.WhenAll(observations.Select(o => graph.Resolver.ResolveAsync(o)));
        Assert.All(results, r => Assert.Equal(ResolveOutcome.Created, r.Outcome));

        var rows = await JournalRows(graph.System);
        var sliceRows = rows.ByPersistenceId.Where(p => p.Key.StartsWith(ProfileSliceEntity.TypeName + "-", StringComparison.Ordinal)).Sum(p => p.Value);
        output.WriteLine($"{Customers} new profiles: {sliceRows} profile slice rows, {rows.Total} journal rows in all");
        Assert.True(sliceRows <= Customers / 4, $"{sliceRows} profile slice rows for {Customers} new profiles");

        // Each profile's state is in the journal: export reads exactly the profiles resolved, with their identifiers.
        var exported = await ProfileReader.ReadAllAsync(graph.System);
        Assert.Equal(results.Select(r => r.ProfileId.Value).Order(StringComparer.Ordinal), exported.Keys.Order(StringComparer.Ordinal));
        Assert.All(exported.Values, p => Assert.Equal(2, p.Content.Identifiers.Count));
        foreach (var result in results.Take(20))
        {
            Assert.Equal(exported[result.ProfileId.Value], await graph.Resolver.GetProfileAsync(result.ProfileId));
        }
    }

    /// <summary>
    /// An index slice deletes the events its snapshot covers one snapshot late: deleted rows are holes in the journal's
    /// ordering, and a hole the read journal has not yet seen filled stalls every tag query (the outbox's) for its
    /// gap-detection time-out. Events a snapshot interval old were long seen; the latest interval stays.
    /// </summary>
    protected async Task An_index_slice_deletes_its_events_one_snapshot_late()
    {
        const int SnapshotEvery = 3;
        await using var graph = await TestGraph.StartAsync(await StorageAsync("index-deletes"), indexSnapshotEvery: SnapshotEvery);
        for (var i = 0; i < 80; i++)
        {
            await graph.Resolver.ResolveAsync(Observe($"del{i}", T0.AddSeconds(i), $"del{i}@example.com", $"+45 50 {i / 100:00} {i % 100:00} 00"));
        }

        var journal = PersistenceQuery.Get(graph.System).ReadJournalFor<SqlReadJournal>(PersistenceHocon.QueryPluginId);
        var ids = (await journal.CurrentPersistenceIds().RunWith(Sink.Seq<string>(), graph.System.Materializer()))
            .Where(id => id.StartsWith(IndexSliceEntity.TypeName + "-", StringComparison.Ordinal)).ToList();
        var checkedSlices = 0;
        foreach (var id in ids)
        {
            // Saving a snapshot and deleting after it are asynchronous: wait until the slice has settled.
            var settle = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                var snapshot = await LoadSnapshot(graph.System, id);
                var sequenceNumbers = await journal.CurrentEventsByPersistenceId(id, 0, long.MaxValue)
                    .Select(e => e.SequenceNr).RunWith(Sink.Seq<long>(), graph.System.Materializer());
                if (snapshot is null || snapshot.Metadata.SequenceNr < 2 * SnapshotEvery)
                {
                    Assert.Equal(1, sequenceNumbers.Min()); // no second snapshot yet: nothing deleted
                    break;
                }

                var latest = snapshot.Metadata.SequenceNr;
                if (sequenceNumbers.Min() == latest - SnapshotEvery + 1)
                {
                    Assert.Equal(sequenceNumbers.Max() - sequenceNumbers.Min() + 1, sequenceNumbers.Count);
                    checkedSlices++;
                    break;
                }

                Assert.True(settle.Elapsed < TimeSpan.FromSeconds(10), $"{id}: snapshot at {latest}, events {string.Join(",", sequenceNumbers)}");
                await Task.Delay(100);
            }
        }

        output.WriteLine($"{ids.Count} index slices, {checkedSlices} with two snapshots or more");
        Assert.True(checkedSlices >= 4, $"{checkedSlices} index slices took two snapshots");
    }

    /// <summary>
    /// The retire step of a merge is a compare-and-set on the version the resolver read: a profile that changed after
    /// its content was read (and absorbed by the survivor) refuses to retire ("stale"), so nothing it gained meanwhile
    /// can be left behind; the merge that follows reads again, and the survivor ends up with everything.
    /// </summary>
    protected async Task A_profile_that_changed_since_it_was_read_does_not_retire()
    {
        await using var graph = await TestGraph.StartAsync(await StorageAsync("retire-cas"));
        var ann = await graph.Resolver.ResolveAsync(Observe("cas1", T0, "ann@example.com"));
        var bob = await graph.Resolver.ResolveAsync(Observe("cas2", T0.AddHours(1), "bob@example.com"));
        Assert.True(ann.ProfileId < bob.ProfileId);

        var profiles = graph.Services.GetRequiredService<Akka.Hosting.ActorRegistry>().Get<ProfileRegion>();
        var slices = Core.Index.IndexSlices.DefaultSliceCount;
        var bobSlice = $"{slices}-{ProfileSlices.SliceOf(bob.ProfileId, slices)}";
        var read = await profiles.Ask<Wire.MergeContent>(new Wire.ReadForMerge { Slice = bobSlice, ProfileId = bob.ProfileId.Value }, TimeSpan.FromSeconds(30));

        // Bob's profile changes after the read.
        Assert.Equal(ResolveOutcome.Linked, (await graph.Resolver.ResolveAsync(Observe("cas3", T0.AddHours(2), "bob@example.com", "+4530000004"))).Outcome);

        var retire = new Wire.RetireProfile
        {
            Slice = bobSlice,
            ProfileId = bob.ProfileId.Value,
            Survivor = ann.ProfileId.Value,
            ExpectedVersion = read.Version,
            ObservationId = "cas-merge",
            OccurredAt = Timestamp.FromDateTimeOffset(T0.AddHours(3)),
        };
        var stale = await profiles.Ask<Wire.RetireResult>(retire, TimeSpan.FromSeconds(30));
        Assert.True(stale.Stale);
        Assert.False(stale.Merged);
        Assert.Equal(ProfileStatus.Live, (await graph.Resolver.GetProfileAsync(bob.ProfileId))!.Status);

        // The merge itself reads again: the survivor holds bob's later phone too, and bob's id leads to it.
        var merged = await graph.Resolver.ResolveAsync(Observe("cas4", T0.AddHours(4), "ann@example.com", "bob@example.com"));
        Assert.Equal(new ResolveResult(ann.ProfileId, ResolveOutcome.Merged, 1), merged);
        var survivor = await graph.Resolver.GetLiveProfileAsync(bob.ProfileId.Value);
        Assert.NotNull(survivor);
        Assert.Equal(ann.ProfileId, survivor.Id);
        Assert.Equal(3, survivor.State.Content.Identifiers.Count);
        Assert.Equal(ann.ProfileId, await graph.Resolver.FindProfileByKeyAsync(Key(IdentifierType.Phone, "+4530000004")));
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan patience, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < patience, "timed out waiting for " + what);
            await Task.Delay(50);
        }
    }

    /// <summary>An observation of e-mail addresses (with @) and phone numbers; shared with the other graph suites.</summary>
    internal static Observation Observe(string id, DateTimeOffset at, params string[] identifiers)
    {
        var observation = new Observation
        {
            ObservationId = id,
            Source = "graph-tests",
            Channel = Channel.Web,
            ObservedAt = Timestamp.FromDateTimeOffset(at),
        };
        observation.Identifiers.Add(identifiers.Select(v => new Identifier
        {
            Type = v.Contains('@', StringComparison.Ordinal) ? IdentifierType.Email : IdentifierType.Phone,
            Value = v,
        }));
        observation.Attributes["last_observation"] = id;
        return observation;
    }
}

/// <summary>On an embedded SQLite file.</summary>
public sealed class SqliteGraphBehaviourTests(ITestOutputHelper output) : GraphBehaviourTests(output), IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("identitygraph-test-").FullName;

    [Fact]
    public Task Resolve_reports_created_nothing_new_linked_and_merged_on_sqlite() => Resolve_reports_created_nothing_new_linked_and_merged();

    [Fact]
    public Task An_observation_that_changes_nothing_writes_nothing_on_sqlite() => An_observation_that_changes_nothing_writes_nothing();

    [Fact]
    public Task A_repeat_visit_on_the_same_utc_day_adds_no_journal_row_on_sqlite() => A_repeat_visit_on_the_same_utc_day_adds_no_journal_row();

    [Fact]
    public Task Lookups_through_a_merge_chain_land_on_the_survivor_on_sqlite() => Lookups_through_a_merge_chain_land_on_the_survivor();

    [Fact]
    public Task A_hot_profile_takes_ten_thousand_concurrent_observations_on_sqlite() => A_hot_profile_takes_ten_thousand_concurrent_observations();

    [Fact]
    public Task A_profile_recovered_from_snapshots_equals_the_profile_before_the_restart_on_sqlite() => A_profile_recovered_from_snapshots_equals_the_profile_before_the_restart();

    [Fact]
    public Task A_restarted_graph_holds_all_the_data_on_sqlite() => A_restarted_graph_holds_all_the_data();

    [Fact]
    public Task The_index_starts_with_the_node_on_sqlite() => The_index_starts_with_the_node();

    [Fact]
    public Task A_batch_writes_one_row_per_profile_slice_not_per_profile_on_sqlite() => A_batch_writes_one_row_per_profile_slice_not_per_profile();

    [Fact]
    public Task A_profile_that_changed_since_it_was_read_does_not_retire_on_sqlite() => A_profile_that_changed_since_it_was_read_does_not_retire();

    [Fact]
    public Task An_index_slice_deletes_its_events_one_snapshot_late_on_sqlite() => An_index_slice_deletes_its_events_one_snapshot_late();

    protected override Task<StorageSettings> StorageAsync(string purpose) =>
        Task.FromResult(StorageSettings.Parse($"sqlite:{Path.Combine(directory, purpose + ".db")}"));

    public void Dispose() => Directory.Delete(directory, recursive: true);
}

/// <summary>On a throw-away PostgreSQL 15 server.</summary>
[Collection(UsesPostgres.Name)]
public sealed class PostgresGraphBehaviourTests(PostgresServer server, ITestOutputHelper output) : GraphBehaviourTests(output)
{
    [PostgresFact]
    public Task Resolve_reports_created_nothing_new_linked_and_merged_on_postgres() => Resolve_reports_created_nothing_new_linked_and_merged();

    [PostgresFact]
    public Task An_observation_that_changes_nothing_writes_nothing_on_postgres() => An_observation_that_changes_nothing_writes_nothing();

    [PostgresFact]
    public Task A_repeat_visit_on_the_same_utc_day_adds_no_journal_row_on_postgres() => A_repeat_visit_on_the_same_utc_day_adds_no_journal_row();

    [PostgresFact]
    public Task Lookups_through_a_merge_chain_land_on_the_survivor_on_postgres() => Lookups_through_a_merge_chain_land_on_the_survivor();

    [PostgresFact]
    public Task A_hot_profile_takes_ten_thousand_concurrent_observations_on_postgres() => A_hot_profile_takes_ten_thousand_concurrent_observations();

    [PostgresFact]
    public Task A_profile_recovered_from_snapshots_equals_the_profile_before_the_restart_on_postgres() => A_profile_recovered_from_snapshots_equals_the_profile_before_the_restart();

    [PostgresFact]
    public Task A_restarted_graph_holds_all_the_data_on_postgres() => A_restarted_graph_holds_all_the_data();

    [Fact]
    public Task The_index_starts_with_the_node_on_postgres() => The_index_starts_with_the_node();

    [PostgresFact]
    public Task A_batch_writes_one_row_per_profile_slice_not_per_profile_on_postgres() => A_batch_writes_one_row_per_profile_slice_not_per_profile();

    [PostgresFact]
    public Task A_profile_that_changed_since_it_was_read_does_not_retire_on_postgres() => A_profile_that_changed_since_it_was_read_does_not_retire();

    [PostgresFact]
    public Task An_index_slice_deletes_its_events_one_snapshot_late_on_postgres() => An_index_slice_deletes_its_events_one_snapshot_late();

    protected override async Task<StorageSettings> StorageAsync(string purpose) =>
        StorageSettings.Parse("postgres:" + await server.CreateDatabaseAsync(purpose));
}
