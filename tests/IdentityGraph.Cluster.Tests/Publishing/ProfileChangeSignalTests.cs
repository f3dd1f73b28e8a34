using IdentityGraph.Cluster.Publishing;

namespace IdentityGraph.Cluster.Tests.Publishing;

/// <summary>The write path's wake-up: coalesced per subscriber, kept until taken, none after disposal.</summary>
public sealed class ProfileChangeSignalTests
{
    [Fact]
    public async Task A_durable_change_wakes_every_subscriber_once_however_many_signals_were_raised()
    {
        var signal = new ProfileChangeSignal();
        using var first = signal.Subscribe();
        using var second = signal.Subscribe();

        signal.Durable();
        signal.Durable();

        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(first.TryTake()); // coalesced into one
        Assert.True(second.TryTake());
        Assert.False(await first.WaitAsync(TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public async Task A_signal_raised_after_a_wait_timed_out_is_kept_for_the_next_wait()
    {
        var signal = new ProfileChangeSignal();
        using var subscription = signal.Subscribe();

        Assert.False(await subscription.WaitAsync(TimeSpan.FromMilliseconds(20)));
        signal.Durable();

        Assert.True(await subscription.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void A_disposed_subscription_is_not_woken()
    {
        var signal = new ProfileChangeSignal();
        var subscription = signal.Subscribe();
        subscription.Dispose();

        signal.Durable();

        Assert.False(subscription.TryTake());
    }
}
