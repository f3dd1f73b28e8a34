using Akka.Persistence.Journal;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Tests.Persistence;

public sealed class ProfileTagAdapterTests
{
    public static TheoryData<object> ProfileEvents() =>
    [
        new ProfileCreatedEvent { ProfileId = "p" },
        new ObservationAppliedEvent { ObservationId = "o" },
        new ProfileAbsorbedEvent { AbsorbedProfileId = "q" },
        new ProfileMergedAwayEvent { SurvivorProfileId = "p" },
        new ProfileErasedEvent { RequestId = "r" },
    ];

    [Theory]
    [MemberData(nameof(ProfileEvents))]
    public void Profile_events_are_tagged_profile(object evt)
    {
        var journaled = new ProfileTagAdapter().ToJournal(evt);

        var tagged = Assert.IsType<Tagged>(journaled);
        Assert.Same(evt, tagged.Payload);
        Assert.Equal([PersistenceHocon.ProfileTag], tagged.Tags);
    }

    [Fact]
    public void Other_events_pass_unchanged()
    {
        var adapter = new ProfileTagAdapter();
        var owner = new IdentifierOwnerSetEvent { Owner = "p" };

        Assert.Same(owner, adapter.ToJournal(owner));
        Assert.Equal("text", adapter.ToJournal("text"));
        Assert.Equal(string.Empty, adapter.Manifest(owner));
    }

    [Fact]
    public void Tagged_types_can_be_chosen()
    {
        var adapter = new ProfileTagAdapter([typeof(IdentifierOwnerSetEvent)]);

        Assert.IsType<Tagged>(adapter.ToJournal(new IdentifierOwnerSetEvent()));
        Assert.IsNotType<Tagged>(adapter.ToJournal(new ProfileCreatedEvent()));
        Assert.Equal(5, ProfileTagAdapter.DefaultTaggedTypes.Count);
    }
}
