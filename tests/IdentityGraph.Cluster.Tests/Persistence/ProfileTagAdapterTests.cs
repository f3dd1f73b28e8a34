using Akka.Persistence.Journal;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Tests.Persistence;

public sealed class ProfileTagAdapterTests
{
    [Fact]
    public void Profile_slice_events_are_tagged_profile()
    {
        var evt = new ProfileSliceChangedEvent { Changes = { new ProfileChangeData { ProfileId = "p" } } };
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
        var index = new IndexChangedEvent();
        var legacy = new ProfileCreatedEvent { ProfileId = "p" };

        Assert.Same(owner, adapter.ToJournal(owner));
        Assert.Same(index, adapter.ToJournal(index));
        Assert.Same(legacy, adapter.ToJournal(legacy));
        Assert.Equal("text", adapter.ToJournal("text"));
        Assert.Equal(string.Empty, adapter.Manifest(owner));
    }

    [Fact]
    public void Tagged_types_can_be_chosen()
    {
        var adapter = new ProfileTagAdapter([typeof(IdentifierOwnerSetEvent)]);

        Assert.IsType<Tagged>(adapter.ToJournal(new IdentifierOwnerSetEvent()));
        Assert.IsNotType<Tagged>(adapter.ToJournal(new ProfileSliceChangedEvent()));
        Assert.Equal([typeof(ProfileSliceChangedEvent)], ProfileTagAdapter.DefaultTaggedTypes);
    }
}
