using IdentityGraph.Kafka.Outbox;

namespace IdentityGraph.Kafka.Tests;

/// <summary>The outbox's restart back-off: doubling while runs fail without delivering, back to the minimum after one that delivered.</summary>
public sealed class RestartBackoffTests
{
    private static readonly TimeSpan Half = TimeSpan.FromMilliseconds(500);

    [Fact]
    public void Failures_that_deliver_nothing_double_the_wait_from_half_a_second_up_to_thirty_seconds()
    {
        var backoff = RestartBackoff.ForOutbox();
        var delays = Enumerable.Range(0, 10).Select(_ => backoff.AfterFailure(delivered: false).TotalSeconds).ToList();
        Assert.Equal([0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30], delays);
    }

    [Fact]
    public void A_run_that_delivered_before_it_failed_waits_the_minimum_again()
    {
        var backoff = RestartBackoff.ForOutbox();
        for (var i = 0; i < 20; i++)
        {
            backoff.AfterFailure(delivered: false);
        }

        Assert.Equal(TimeSpan.FromSeconds(30), backoff.AfterFailure(delivered: false));
        // The outbox then published for a while and failed once more: a fresh transient failure, not the 21st in a row.
        Assert.Equal(Half, backoff.AfterFailure(delivered: true));
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.AfterFailure(delivered: false));
        Assert.Equal(Half, backoff.AfterFailure(delivered: true));
        Assert.Equal(Half, backoff.AfterFailure(delivered: true));
    }

    [Fact]
    public void A_run_that_ended_without_failing_resets_the_wait()
    {
        var backoff = RestartBackoff.ForOutbox();
        backoff.AfterFailure(delivered: false);
        backoff.AfterFailure(delivered: false);
        backoff.Reset();
        Assert.Equal(Half, backoff.AfterFailure(delivered: false));
    }

    [Fact]
    public void Thousands_of_failures_in_a_row_stay_at_the_maximum()
    {
        var backoff = new RestartBackoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(1));
        var last = TimeSpan.Zero;
        for (var i = 0; i < 10_000; i++)
        {
            var delay = backoff.AfterFailure(delivered: false);
            Assert.True(delay >= last && delay <= TimeSpan.FromDays(1), $"failure {i}: {delay}");
            last = delay;
        }

        Assert.Equal(TimeSpan.FromDays(1), last);
    }

    [Fact]
    public void Bounds_out_of_order_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RestartBackoff(TimeSpan.Zero, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RestartBackoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)));
    }
}
