using IdentityGraph.Kafka.Ingestion;

namespace IdentityGraph.Kafka.Tests;

public sealed class OffsetTrackerTests
{
    [Fact]
    public void Commits_only_up_to_the_lowest_offset_still_in_flight()
    {
        var tracker = new OffsetTracker();
        foreach (var offset in new long[] { 10, 11, 12, 13 })
        {
            tracker.Dispatched(offset);
        }

        Assert.Equal(10, tracker.TakeCommittable());
        tracker.Completed(11);
        tracker.Completed(13);
        Assert.Null(tracker.TakeCommittable());

        tracker.Completed(10);
        Assert.Equal(12, tracker.TakeCommittable());
        Assert.Null(tracker.TakeCommittable());

        tracker.Completed(12);
        Assert.Equal(14, tracker.TakeCommittable());
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public void Gaps_in_offsets_such_as_compacted_or_transaction_markers_do_not_block_commits()
    {
        var tracker = new OffsetTracker();
        tracker.Dispatched(5);
        tracker.Dispatched(9);
        tracker.Completed(9);
        Assert.Equal(5, tracker.TakeCommittable());
        tracker.Completed(5);
        Assert.Equal(10, tracker.TakeCommittable());
    }

    [Fact]
    public void Nothing_is_committable_before_anything_was_dispatched()
    {
        var tracker = new OffsetTracker();
        Assert.Null(tracker.TakeCommittable());
        Assert.True(tracker.WaitDrained(TimeSpan.Zero));
    }

    [Fact]
    public async Task Wait_drained_returns_when_the_last_offset_completes()
    {
        var tracker = new OffsetTracker();
        tracker.Dispatched(1);
        Assert.False(tracker.WaitDrained(TimeSpan.FromMilliseconds(20)));

        var waiting = Task.Run(() => tracker.WaitDrained(TimeSpan.FromSeconds(30)));
        tracker.Completed(1);
        Assert.True(await waiting);
    }

    [Fact]
    public async Task Concurrent_completions_never_commit_past_an_offset_in_flight()
    {
        var tracker = new OffsetTracker();
        const int count = 10_000;
        for (var offset = 0; offset < count; offset++)
        {
            tracker.Dispatched(offset);
        }

        var order = Enumerable.Range(0, count).OrderBy(_ => Random.Shared.Next()).ToArray();
        var completed = new bool[count];
        var observer = Task.Run(() =>
        {
            long last = 0;
            while (last < count)
            {
                if (tracker.TakeCommittable() is { } position)
                {
                    // Every offset below the committed position must already be completed.
                    for (var offset = last; offset < position; offset++)
                    {
                        Assert.True(Volatile.Read(ref completed[offset]), $"offset {offset} committed while in flight");
                    }

                    last = position;
                }
            }
        });
        Parallel.ForEach(order, offset =>
        {
            Volatile.Write(ref completed[offset], true);
            tracker.Completed(offset);
        });

        await observer.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, tracker.InFlight);
    }
}
