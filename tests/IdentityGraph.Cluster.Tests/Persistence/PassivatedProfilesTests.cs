using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Wire;

namespace IdentityGraph.Cluster.Tests.Persistence;

/// <summary>The passivated-profile cache's own rules: taken once, bounded in bytes, least recently kept dropped first.</summary>
public sealed class PassivatedProfilesTests
{
    private static ProfileSnapshotData State(string id) => new() { ProfileId = id, Version = 3 };

    private static long SizeOf(string id) => State(id).CalculateSize() + PassivatedProfiles.EntryOverhead;

    [Fact]
    public void A_kept_state_is_taken_once_with_its_sequence_numbers()
    {
        var cache = new PassivatedProfiles();
        cache.Budget(1024 * 1024);

        cache.Keep("profile-a", 7, 5, State("a"));

        var kept = cache.Take("profile-a", long.MaxValue);
        Assert.NotNull(kept);
        Assert.Equal((7L, 5L, "a"), (kept.SequenceNr, kept.StoredSnapshotAt, kept.Snapshot().ProfileId));
        Assert.Null(cache.Take("profile-a", long.MaxValue));
        Assert.Equal((1L, 0, 0L), (cache.Hits, cache.Count, cache.Bytes));
    }

    [Fact]
    public void A_state_newer_than_the_recovery_asks_for_is_not_offered()
    {
        var cache = new PassivatedProfiles();
        cache.Budget(1024 * 1024);
        cache.Keep("profile-a", 7, 0, State("a"));

        Assert.Null(cache.Take("profile-a", 6));
        Assert.Equal(0, cache.Hits);
    }

    [Fact]
    public void Past_the_budget_the_least_recently_kept_state_is_dropped()
    {
        var cache = new PassivatedProfiles();
        cache.Budget(SizeOf("a") + SizeOf("b"));

        cache.Keep("profile-a", 1, 0, State("a"));
        cache.Keep("profile-b", 1, 0, State("b"));
        cache.Keep("profile-c", 1, 0, State("c"));

        Assert.Null(cache.Peek("profile-a"));
        Assert.NotNull(cache.Peek("profile-b"));
        Assert.NotNull(cache.Peek("profile-c"));
        Assert.Equal((2, 1L), (cache.Count, cache.Evicted));
        Assert.Equal(SizeOf("b") + SizeOf("c"), cache.Bytes);
    }

    [Fact]
    public void Keeping_a_profile_again_replaces_its_state()
    {
        var cache = new PassivatedProfiles();
        cache.Budget(1024 * 1024);

        cache.Keep("profile-a", 1, 0, State("a"));
        cache.Keep("profile-a", 2, 0, State("a"));

        Assert.Equal((1, 2L), (cache.Count, cache.Peek("profile-a")!.SequenceNr));
        Assert.Equal(SizeOf("a"), cache.Bytes);
    }

    [Fact]
    public void A_zero_budget_keeps_nothing_and_empties_the_cache()
    {
        var cache = new PassivatedProfiles();
        cache.Budget(1024 * 1024);
        cache.Keep("profile-a", 1, 0, State("a"));

        cache.Budget(0);
        cache.Keep("profile-b", 1, 0, State("b"));

        Assert.Equal((0, 0L), (cache.Count, cache.Bytes));
    }

    [Fact]
    public void A_profile_that_was_never_written_or_forgotten_is_not_kept()
    {
        var cache = new PassivatedProfiles();
        cache.Budget(1024 * 1024);

        cache.Keep("profile-new", 0, 0, State("new"));
        cache.Keep("profile-a", 1, 0, State("a"));
        cache.Forget("profile-a");

        Assert.Equal((0, 0L), (cache.Count, cache.Bytes));
    }
}
