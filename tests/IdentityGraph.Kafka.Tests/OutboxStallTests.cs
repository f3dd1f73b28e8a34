using System.Diagnostics.Metrics;
using IdentityGraph.Kafka.Outbox;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityGraph.Kafka.Tests;

/// <summary>
/// When the outbox counts as stalled (<see cref="OutboxStatistics.FailingReason"/>): events pending while the
/// checkpoint stands still for longer than the stall time-out; a delivered batch ends it at once. Pure logic on a
/// hand-driven clock: the lag probe's calls are made here.
/// </summary>
public sealed class OutboxStallTests : IDisposable
{
    private readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ManualClock clock = new();
    private readonly OutboxStatistics statistics;

    public OutboxStallTests()
    {
        statistics = new OutboxStatistics(services.GetRequiredService<IMeterFactory>(), clock) { StallTimeout = TimeSpan.FromSeconds(10) };
        statistics.RecordRunningHere(true);
        statistics.RecordCheckpoint(100);
    }

    [Fact]
    public void Events_pending_with_the_checkpoint_standing_still_count_as_stalled_only_after_the_stall_timeout()
    {
        statistics.RecordLag(5, clock.GetUtcNow());
        Probe(after: 5, events: 8);
        Assert.Null(statistics.FailingReason);
        Probe(after: 5, events: 12);
        Assert.Null(statistics.FailingReason); // exactly the time-out: not yet
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.StartsWith("stalled", statistics.FailingReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_delivered_batch_ends_a_stall_at_once_without_waiting_for_the_next_lag_probe()
    {
        statistics.RecordLag(5, clock.GetUtcNow());
        Probe(after: 15, events: 9);
        Assert.NotNull(statistics.FailingReason);

        clock.Advance(TimeSpan.FromSeconds(1));
        statistics.RecordDelivered(events: 5, endedProfiles: 0, offset: 105, lastTimestampMs: 1);
        Assert.Null(statistics.FailingReason);

        // Still pending behind the new checkpoint: measured again from the delivery, so stalled 10 s after it.
        Probe(after: 4, events: 4);
        Assert.Null(statistics.FailingReason);
        Probe(after: 6.5, events: 4);
        Assert.StartsWith("stalled", statistics.FailingReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lag_probe_that_started_before_a_delivery_and_answers_after_it_does_not_bring_the_stall_back()
    {
        statistics.RecordLag(5, clock.GetUtcNow());
        clock.Advance(TimeSpan.FromSeconds(20));
        statistics.RecordDelivered(events: 5, endedProfiles: 0, offset: 105, lastTimestampMs: 1);
        // The probe counted from the old checkpoint and reports now: the stall clock stays at the delivery.
        statistics.RecordLag(9, clock.GetUtcNow().AddSeconds(-20));
        Assert.Null(statistics.FailingReason);
    }

    [Fact]
    public void Nothing_pending_is_never_stalled_and_a_delivery_clears_a_failed_stream()
    {
        Probe(after: 0, events: 0);
        Probe(after: 60, events: 0);
        Assert.Null(statistics.FailingReason);

        statistics.RecordFailure();
        Assert.StartsWith("publishing failed", statistics.FailingReason, StringComparison.Ordinal);
        statistics.RecordDelivered(events: 1, endedProfiles: 0, offset: 101, lastTimestampMs: 1);
        Assert.Null(statistics.FailingReason);
    }

    [Fact]
    public void A_catching_up_checkpoint_is_progress_even_with_events_pending_all_along()
    {
        statistics.RecordLag(50, clock.GetUtcNow());
        for (var offset = 110; offset < 200; offset += 10)
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            statistics.RecordDelivered(events: 10, endedProfiles: 0, offset: offset, lastTimestampMs: 1);
            Probe(after: 0, events: 50);
            Assert.Null(statistics.FailingReason);
        }
    }

    private void Probe(double after, long events)
    {
        clock.Advance(TimeSpan.FromSeconds(after));
        statistics.RecordLag(events, events == 0 ? null : clock.GetUtcNow().AddMinutes(-1));
    }

    public void Dispose() => services.Dispose();

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => now;

        public void Advance(TimeSpan by) => now += by;
    }
}
