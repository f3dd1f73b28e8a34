using IdentityGraph.Cluster.Publishing;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Tests.Publishing;

/// <summary>The write path's hand-off: states kept by profile and version, taken once, bounded, and a wake-up each time.</summary>
public sealed class ProfileChangeSignalTests
{
    private static readonly ProfileState V1 = ProfileState.Empty with { Version = 1, Status = ProfileStatus.Live };
    private static readonly ProfileState V2 = V1 with { Version = 2 };

    [Fact]
    public async Task A_durable_change_wakes_the_subscriber_and_its_states_are_taken_once_by_profile_and_version()
    {
        var signal = new ProfileChangeSignal();
        using var subscription = signal.Subscribe(handOffCapacity: 10);

        signal.Durable("profile-a", V1, V2);

        Assert.True(await subscription.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(subscription.TryTake("profile-a", 1, out _, out _)); // the version the event brought it to: 2
        Assert.False(subscription.TryTake("profile-b", 2, out _, out _));
        Assert.True(subscription.TryTake("profile-a", 2, out var before, out var after));
        Assert.Same(V1, before);
        Assert.Same(V2, after);
        Assert.False(subscription.TryTake("profile-a", 2, out _, out _));
        Assert.Equal(0, subscription.HandedOff);
    }

    [Fact]
    public async Task Past_its_capacity_a_subscription_keeps_no_more_states_but_still_wakes()
    {
        var signal = new ProfileChangeSignal();
        using var bounded = signal.Subscribe(handOffCapacity: 2);
        using var wakeUpOnly = signal.Subscribe();

        foreach (var profile in new[] { "p1", "p2", "p3" })
        {
            signal.Durable(profile, V1, V2);
        }

        Assert.Equal(2, bounded.HandedOff);
        Assert.True(bounded.TryTake("p1", 2, out _, out _));
        Assert.True(bounded.TryTake("p2", 2, out _, out _));
        Assert.False(bounded.TryTake("p3", 2, out _, out _)); // dropped: the reader rebuilds it from the journal
        Assert.Equal(0, wakeUpOnly.HandedOff);
        Assert.True(await wakeUpOnly.WaitAsync(TimeSpan.FromSeconds(5)));

        // Room again once taken.
        signal.Durable("p4", V1, V2);
        Assert.True(bounded.TryTake("p4", 2, out _, out _));
    }

    /// <summary>A state whose event was read before its hand-off is never taken: it is dropped by age, not kept for good.</summary>
    [Fact]
    public void States_not_taken_are_dropped_by_age_and_free_their_place()
    {
        var signal = new ProfileChangeSignal();
        using var subscription = signal.Subscribe(handOffCapacity: 1);
        signal.Durable("orphan", V1, V2);

        Assert.Equal(0, subscription.DropOlderThan(TimeSpan.FromMinutes(1)));
        Assert.Equal(1, subscription.HandedOff);
        Assert.Equal(1, subscription.DropOlderThan(TimeSpan.Zero));
        Assert.Equal(0, subscription.HandedOff);

        signal.Durable("next", V1, V2);
        Assert.True(subscription.TryTake("next", 2, out _, out _));
    }

    [Fact]
    public void A_disposed_subscription_is_handed_nothing()
    {
        var signal = new ProfileChangeSignal();
        var subscription = signal.Subscribe(handOffCapacity: 10);
        subscription.Dispose();

        signal.Durable("profile-a", V1, V2);

        Assert.Equal(0, subscription.HandedOff);
        Assert.False(subscription.TryTake("profile-a", 2, out _, out _));
    }
}
