using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Tests.Infrastructure;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Tests.Persistence;

/// <summary>
/// The same journal checks on each backend: events survive an actor-system restart, and the "profile" tag query
/// returns exactly the profile events, both as a finite and as a live query.
/// </summary>
public abstract class JournalBackendTests
{
    private static readonly DateTime Epoch = new(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    protected abstract Task<StorageSettings> StorageAsync();

    protected static IReadOnlyList<IMessage> ProfileHistory(string profileId) =>
    [
        new ProfileCreatedEvent
        {
            ProfileId = profileId,
            ObservationId = "obs-1",
            OccurredAt = Timestamp.FromDateTime(Epoch),
            Content = new ProfileContentData { MergedProfileIds = { "01OLD" }, CreatedAt = Timestamp.FromDateTime(Epoch) },
        },
        new IdentifierOwnerSetEvent { Owner = profileId },
        SliceChange(profileId, "obs-1"),
        new ObservationAppliedEvent { ObservationId = "obs-2", OccurredAt = Timestamp.FromDateTime(Epoch.AddSeconds(1)) },
        new ProfileAbsorbedEvent { AbsorbedProfileId = "01ZZZ", ObservationId = "obs-3" },
        new ProfileMergedAwayEvent { SurvivorProfileId = "01AAA", ObservationId = "obs-4" },
        new ProfileErasedEvent { RequestId = "erase-1", OccurredAt = Timestamp.FromDateTime(Epoch.AddDays(1)) },
        SliceChange(profileId, "obs-5"),
    ];

    /// <summary>A profile slice's event (the one kind tagged for the outbox) with one change.</summary>
    private protected static ProfileSliceChangedEvent SliceChange(string profileId, string observationId) => new()
    {
        Changes =
        {
            new ProfileChangeData
            {
                ProfileId = profileId,
                Published = new Contracts.V1.ProfileEvent { ProfileId = profileId, ObservationId = observationId, Version = 1 },
                Applied = new ObservationAppliedEvent { ObservationId = observationId },
            },
        },
    };

    protected async Task Events_survive_a_restart_of_the_actor_system()
    {
        var storage = await StorageAsync();
        var history = ProfileHistory("01HPROFILE");

        var first = TestSystems.Start(storage, "restart-1");
        try
        {
            var probe = first.ActorOf(JournalProbe.Props("profile-01HPROFILE"));
            foreach (var evt in history.Take(3))
            {
                await probe.Ask<JournalProbe.Appended>(new JournalProbe.Append(evt), TestSystems.AskTimeout);
            }

            var appended = await probe.Ask<JournalProbe.Appended>(new JournalProbe.AppendAll([.. history.Skip(3)]), TestSystems.AskTimeout);
            Assert.Equal(history.Count, appended.SequenceNr);
        }
        finally
        {
            await first.Terminate();
        }

        var second = TestSystems.Start(storage, "restart-2");
        try
        {
            var probe = second.ActorOf(JournalProbe.Props("profile-01HPROFILE"));
            var recovered = await probe.Ask<JournalProbe.Events>(JournalProbe.GetEvents.Instance, TestSystems.AskTimeout);

            Assert.Equal(history, recovered.All);
            Assert.Equal(history.Count, recovered.LastSequenceNr);

            var other = second.ActorOf(JournalProbe.Props("profile-never-written"));
            Assert.Empty((await other.Ask<JournalProbe.Events>(JournalProbe.GetEvents.Instance, TestSystems.AskTimeout)).All);
        }
        finally
        {
            await second.Terminate();
        }
    }

    /// <summary>
    /// Rows the node cannot read are found, so that start-up can refuse them: those of the designs before slices
    /// (<c>identifier-…</c> and <c>profile-…</c> entities) and slices written with another slice count. A new database and one of
    /// today's design with the same count have none. The count an index was written with is read back (what a node
    /// set to "as written" starts with).
    /// </summary>
    protected async Task Index_rows_this_node_cannot_read_are_found()
    {
        var storage = await StorageAsync();
        var status = new JournalStatus(storage, indexSlices: 64);
        Assert.Null(await status.UnreadableIndexRowAsync());
        Assert.Null(await status.WrittenIndexSlicesAsync());

        var system = TestSystems.Start(storage, "legacy");
        try
        {
            var today = system.ActorOf(JournalProbe.Props("index-64-7"));
            await today.Ask<JournalProbe.Appended>(new JournalProbe.Append(new IdentifierOwnerSetEvent { Owner = "01HA" }), TestSystems.AskTimeout);
            Assert.Null(await status.UnreadableIndexRowAsync());
            Assert.Equal("index-64-7", await new JournalStatus(storage, indexSlices: 32).UnreadableIndexRowAsync());
            Assert.Equal(64, await new JournalStatus(storage, indexSlices: 32).WrittenIndexSlicesAsync());

            var profiles = system.ActorOf(JournalProbe.Props("profiles-64-3"));
            await profiles.Ask<JournalProbe.Appended>(new JournalProbe.Append(SliceChange("01HA", "obs-1")), TestSystems.AskTimeout);
            Assert.Null(await status.UnreadableIndexRowAsync());
            Assert.Contains(await new JournalStatus(storage, indexSlices: 32).UnreadableIndexRowAsync(), new[] { "index-64-7", "profiles-64-3" });

            var oldProfile = system.ActorOf(JournalProbe.Props(JournalStatus.LegacyProfilePrefix + "01HA"));
            await oldProfile.Ask<JournalProbe.Appended>(new JournalProbe.Append(new ProfileCreatedEvent { ProfileId = "01HA" }), TestSystems.AskTimeout);
            Assert.Equal("profile-01HA", await status.UnreadableIndexRowAsync());

            var old = system.ActorOf(JournalProbe.Props(JournalStatus.LegacyIdentifierPrefix + "email:3f2a"));
            await old.Ask<JournalProbe.Appended>(new JournalProbe.Append(new IdentifierOwnerSetEvent { Owner = "01HA" }), TestSystems.AskTimeout);
            Assert.Contains(await status.UnreadableIndexRowAsync(), new[] { "identifier-email:3f2a", "profile-01HA" });
        }
        finally
        {
            await system.Terminate();
        }
    }

    protected async Task EventsByTag_returns_the_profile_events()
    {
        var storage = await StorageAsync();
        var system = TestSystems.Start(storage, "tags");
        try
        {
            var a = ProfileHistory("01HA");
            var b = ProfileHistory("01HB");
            var probeA = system.ActorOf(JournalProbe.Props("profile-01HA"));
            var probeB = system.ActorOf(JournalProbe.Props("profile-01HB"));
            await probeA.Ask<JournalProbe.Appended>(new JournalProbe.AppendAll(a), TestSystems.AskTimeout);
            foreach (var evt in b)
            {
                await probeB.Ask<JournalProbe.Appended>(new JournalProbe.Append(evt), TestSystems.AskTimeout);
            }

            var queries = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(PersistenceHocon.QueryPluginId);
            var materializer = system.Materializer();

            var current = await queries
                .CurrentEventsByTag(PersistenceHocon.ProfileTag, Offset.NoOffset())
                .RunWith(Sink.Seq<EventEnvelope>(), materializer)
                .WaitAsync(TestSystems.AskTimeout);

            var expected = a.Where(IsProfileEvent).Select(e => ("profile-01HA", e))
                .Concat(b.Where(IsProfileEvent).Select(e => ("profile-01HB", e)))
                .ToList();
            Assert.Equal(expected, current.Select(e => (e.PersistenceId, (IMessage)e.Event)).ToList());
            Assert.All(current, e => Assert.Contains(PersistenceHocon.ProfileTag, e.Tags));
            Assert.Equal(current.Count, current.Select(e => ((Sequence)e.Offset).Value).Distinct().Count());
            Assert.True(current.Select(e => ((Sequence)e.Offset).Value).SequenceEqual(current.Select(e => ((Sequence)e.Offset).Value).Order()));

            // The live query starts after the last offset seen and picks up a new event.
            var last = current[^1].Offset;
            var live = queries
                .EventsByTag(PersistenceHocon.ProfileTag, last)
                .Take(1)
                .RunWith(Sink.First<EventEnvelope>(), materializer);
            var later = SliceChange("01HA", "obs-later");
            await probeA.Ask<JournalProbe.Appended>(new JournalProbe.Append(later), TestSystems.AskTimeout);

            var next = await live.WaitAsync(TestSystems.AskTimeout);
            Assert.Equal("profile-01HA", next.PersistenceId);
            Assert.Equal(later, next.Event);
            Assert.Equal(a.Count + 1, next.SequenceNr);
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static bool IsProfileEvent(IMessage evt) => ProfileTagAdapter.DefaultTaggedTypes.Contains(evt.GetType());
}
