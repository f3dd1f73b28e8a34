using System.Security.Cryptography;
using System.Text;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Index;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Core.Tests.Index;

public sealed class IndexSliceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Key number <paramref name="i"/>, in the real form (64 lower-case hex digits).</summary>
    internal static IdentifierKey Key(int i) => new(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"key-{i}"))));

    /// <summary>Profile number <paramref name="i"/>; a larger number is a larger (younger) id.</summary>
    internal static ProfileId P(int i) => ProfileId.For($"profile-{i}", T0.AddMinutes(i));

    private static IndexDecision Commit(IndexSlice slice, IndexDecision decision)
    {
        slice.Stage(decision.Changes);
        slice.MarkDurable(decision.Changes);
        return decision;
    }

    private static IndexSlice SliceWith(params (int Key, int Owner)[] owners)
    {
        var slice = new IndexSlice();
        Commit(slice, slice.DecideClaims([.. owners.Select(o => new ClaimRequest(Key(o.Key), P(o.Owner)))]));
        return slice;
    }

    [Fact]
    public void Profile_ids_of_the_tests_grow_with_their_number() =>
        Assert.True(Enumerable.Range(0, 9).All(i => P(i) < P(i + 1)));

    [Fact]
    public void An_empty_slice_knows_no_owner()
    {
        var slice = new IndexSlice();
        Assert.Equal(new IndexLookup(null, 0, false), slice.Lookup(Key(1)));
        Assert.Equal(0, slice.Count);
        Assert.Equal(0, slice.PendingCount);
        Assert.Empty(slice.ToSnapshot());
    }

    [Fact]
    public void A_claim_of_an_unowned_identifier_is_a_change_at_version_1()
    {
        var slice = new IndexSlice();
        var decision = slice.DecideClaims([new ClaimRequest(Key(1), P(5))]);

        Assert.Equal([new IndexChange(Key(1), P(5), 1)], decision.Changes);
        Assert.Equal([new IndexAnswer(Key(1), P(5), Pending: true, Changed: true)], decision.Answers);
        Assert.True(decision.AwaitsDurability);

        Commit(slice, decision);
        Assert.Equal(new IndexLookup(P(5), 1, false), slice.Lookup(Key(1)));
    }

    [Fact]
    public void A_claim_of_an_owned_identifier_answers_the_owner_and_changes_nothing()
    {
        var slice = SliceWith((1, 5));
        var decision = slice.DecideClaims([new ClaimRequest(Key(1), P(2))]);

        Assert.Empty(decision.Changes);
        Assert.Equal([new IndexAnswer(Key(1), P(5), Pending: false)], decision.Answers);
        Assert.False(decision.AwaitsDurability);
    }

    [Fact]
    public void A_repeated_claim_by_the_owner_itself_answers_it_without_a_change()
    {
        // A re-sent claim, or a replayed observation: the answer must not say "changed", or the resolver would take
        // the owner for a profile that has never been written.
        var slice = SliceWith((1, 5));
        var decision = slice.DecideClaims([new ClaimRequest(Key(1), P(5))]);

        Assert.Empty(decision.Changes);
        Assert.Equal([new IndexAnswer(Key(1), P(5), Pending: false, Changed: false)], decision.Answers);
    }

    [Fact]
    public void Within_one_decision_the_first_claim_wins_and_the_second_adds_no_change()
    {
        var slice = new IndexSlice();
        var decision = slice.DecideClaims(
        [
            new ClaimRequest(Key(1), P(7)),
            new ClaimRequest(Key(2), P(3)),
            new ClaimRequest(Key(1), P(4)),
        ]);

        Assert.Equal([new IndexChange(Key(1), P(7), 1), new IndexChange(Key(2), P(3), 1)], decision.Changes);
        Assert.Equal(
            [new IndexAnswer(Key(1), P(7), true, Changed: true), new IndexAnswer(Key(2), P(3), true, Changed: true), new IndexAnswer(Key(1), P(7), true)],
            decision.Answers);
    }

    [Fact]
    public void Deciding_changes_nothing_until_staged()
    {
        var slice = SliceWith((1, 5));
        var claims = new[] { new ClaimRequest(Key(2), P(3)), new ClaimRequest(Key(1), P(2)) };
        var repoints = new[] { new RepointRequest(Key(1), P(5), P(1)) };

        var first = slice.DecideClaims(claims);
        var firstRepoint = slice.DecideRepoints(repoints);

        Assert.Equal(first.Changes, slice.DecideClaims(claims).Changes);
        Assert.Equal(first.Answers, slice.DecideClaims(claims).Answers);
        Assert.Equal(firstRepoint.Changes, slice.DecideRepoints(repoints).Changes);
        Assert.Equal(new IndexLookup(null, 0, false), slice.Lookup(Key(2)));
        Assert.Equal(new IndexLookup(P(5), 1, false), slice.Lookup(Key(1)));
        Assert.Equal(0, slice.PendingCount);
    }

    [Fact]
    public void A_claim_in_flight_wins_over_a_later_batch_whose_answer_then_waits_for_it()
    {
        var slice = new IndexSlice();
        var first = slice.DecideClaims([new ClaimRequest(Key(1), P(6))]);
        slice.Stage(first.Changes);

        var second = slice.DecideClaims([new ClaimRequest(Key(1), P(2)), new ClaimRequest(Key(3), P(2))]);
        Assert.Equal([new IndexChange(Key(3), P(2), 1)], second.Changes);
        Assert.Equal([new IndexAnswer(Key(1), P(6), Pending: true), new IndexAnswer(Key(3), P(2), Pending: true, Changed: true)], second.Answers);

        var third = slice.DecideClaims([new ClaimRequest(Key(1), P(1))]);
        Assert.Empty(third.Changes);
        Assert.True(third.AwaitsDurability);

        slice.MarkDurable(first.Changes);
        var fourth = slice.DecideClaims([new ClaimRequest(Key(1), P(1))]);
        Assert.Equal([new IndexAnswer(Key(1), P(6), Pending: false)], fourth.Answers);
        Assert.False(fourth.AwaitsDurability);
    }

    [Fact]
    public void Lookup_answers_only_durable_owners_and_reports_pending_changes()
    {
        var slice = SliceWith((1, 5));
        var claim = slice.DecideClaims([new ClaimRequest(Key(2), P(4))]);
        var repoint = slice.DecideRepoints([new RepointRequest(Key(1), P(5), P(1))]);
        slice.Stage(claim.Changes);
        slice.Stage(repoint.Changes);

        Assert.Equal(new IndexLookup(null, 0, true), slice.Lookup(Key(2)));
        Assert.Equal(new IndexLookup(P(5), 1, true), slice.Lookup(Key(1)));
        Assert.Equal(new IndexLookup(null, 0, false), slice.Lookup(Key(3)));
        Assert.Equal(2, slice.PendingCount);
        Assert.Equal(1, slice.Count);

        slice.MarkDurable(claim.Changes);
        Assert.Equal(new IndexLookup(P(4), 1, false), slice.Lookup(Key(2)));
        Assert.Equal(new IndexLookup(P(5), 1, true), slice.Lookup(Key(1)));

        slice.MarkDurable(repoint.Changes);
        Assert.Equal(new IndexLookup(P(1), 2, false), slice.Lookup(Key(1)));
        Assert.Equal(0, slice.PendingCount);
        Assert.Equal(2, slice.Count);
    }

    [Fact]
    public void Pending_changes_are_not_in_the_snapshot()
    {
        var slice = SliceWith((1, 5));
        slice.Stage(slice.DecideClaims([new ClaimRequest(Key(2), P(4))]).Changes);
        slice.Stage(slice.DecideRepoints([new RepointRequest(Key(1), P(5), P(2))]).Changes);

        Assert.Equal([new IndexEntry(Key(1), P(5), 1)], slice.ToSnapshot());
    }

    [Fact]
    public void A_repoint_moves_an_identifier_from_the_expected_owner_to_a_smaller_id()
    {
        var slice = SliceWith((1, 5));
        var decision = Commit(slice, slice.DecideRepoints([new RepointRequest(Key(1), P(5), P(2))]));

        Assert.Equal([new IndexChange(Key(1), P(2), 2)], decision.Changes);
        Assert.Equal([new IndexAnswer(Key(1), P(2), Pending: true, Changed: true)], decision.Answers);
        Assert.Equal(new IndexLookup(P(2), 2, false), slice.Lookup(Key(1)));
    }

    public static TheoryData<int, int, string> RefusedRepoints => new()
    {
        { 5, 7, "to a larger id" },
        { 5, 5, "to the same id" },
        { 4, 2, "from a profile that does not own it" },
        { 6, 2, "from a larger profile that does not own it" },
    };

    [Theory]
    [MemberData(nameof(RefusedRepoints))]
    public void A_repoint_that_breaks_the_rules_answers_the_current_owner(int from, int to, string why)
    {
        var slice = SliceWith((1, 5));
        var decision = slice.DecideRepoints([new RepointRequest(Key(1), P(from), P(to))]);

        Assert.True(decision.Changes.Count == 0, why);
        Assert.Equal([new IndexAnswer(Key(1), P(5), Pending: false)], decision.Answers);
    }

    [Fact]
    public void A_repoint_of_an_unowned_identifier_answers_no_owner()
    {
        var decision = new IndexSlice().DecideRepoints([new RepointRequest(Key(1), P(5), P(2))]);
        Assert.Empty(decision.Changes);
        Assert.Equal([new IndexAnswer(Key(1), null, Pending: false)], decision.Answers);
        Assert.False(decision.AwaitsDurability);
    }

    [Fact]
    public void Repoints_in_one_decision_chain_into_one_change_of_one_version()
    {
        var slice = SliceWith((1, 8), (2, 8));
        var decision = Commit(slice, slice.DecideRepoints(
        [
            new RepointRequest(Key(1), P(8), P(5)),
            new RepointRequest(Key(2), P(8), P(6)),
            new RepointRequest(Key(1), P(5), P(3)),
            new RepointRequest(Key(1), P(5), P(1)),
        ]));

        Assert.Equal([new IndexChange(Key(1), P(3), 2), new IndexChange(Key(2), P(6), 2)], decision.Changes);
        Assert.Equal(
        [
            new IndexAnswer(Key(1), P(5), true, Changed: true),
            new IndexAnswer(Key(2), P(6), true, Changed: true),
            new IndexAnswer(Key(1), P(3), true, Changed: true),
            new IndexAnswer(Key(1), P(3), true),
        ],
            decision.Answers);
        Assert.Equal(new IndexLookup(P(3), 2, false), slice.Lookup(Key(1)));
    }

    [Fact]
    public void A_repoint_decides_on_a_pending_owner_and_both_changes_become_durable_in_order()
    {
        var slice = new IndexSlice();
        var claim = slice.DecideClaims([new ClaimRequest(Key(1), P(5))]);
        slice.Stage(claim.Changes);
        var repoint = slice.DecideRepoints([new RepointRequest(Key(1), P(5), P(2))]);
        slice.Stage(repoint.Changes);

        Assert.Equal([new IndexChange(Key(1), P(2), 2)], repoint.Changes);
        Assert.Equal([new IndexAnswer(Key(1), P(2), Pending: true)], slice.DecideClaims([new ClaimRequest(Key(1), P(9))]).Answers);
        Assert.Equal([new IndexAnswer(Key(1), P(2), Pending: true)], slice.DecideRepoints([new RepointRequest(Key(1), P(9), P(1))]).Answers);

        slice.MarkDurable(claim.Changes);
        Assert.Equal(new IndexLookup(P(5), 1, true), slice.Lookup(Key(1)));
        slice.MarkDurable(repoint.Changes);
        Assert.Equal(new IndexLookup(P(2), 2, false), slice.Lookup(Key(1)));
    }

    [Fact]
    public void Staging_a_decision_made_before_another_was_staged_is_refused_and_changes_nothing()
    {
        var slice = new IndexSlice();
        var first = slice.DecideClaims([new ClaimRequest(Key(1), P(5))]);
        var stale = slice.DecideClaims([new ClaimRequest(Key(2), P(3)), new ClaimRequest(Key(1), P(3))]);
        slice.Stage(first.Changes);

        var error = Assert.Throws<InvalidOperationException>(() => slice.Stage(stale.Changes));
        Assert.Contains("decided on a state that has changed", error.Message, StringComparison.Ordinal);
        Assert.Equal(new IndexLookup(null, 0, false), slice.Lookup(Key(2)));
        Assert.Equal(1, slice.PendingCount);
    }

    [Fact]
    public void Applying_a_change_twice_or_an_older_one_is_a_no_op()
    {
        var slice = new IndexSlice();
        Assert.True(slice.Apply(new IndexChange(Key(1), P(5), 1)));
        Assert.False(slice.Apply(new IndexChange(Key(1), P(5), 1)));
        Assert.False(slice.Apply(new IndexChange(Key(1), P(7), 1)));
        Assert.True(slice.Apply(new IndexChange(Key(1), P(2), 2)));
        Assert.False(slice.Apply(new IndexChange(Key(1), P(5), 1)));
        Assert.False(slice.Apply(new IndexChange(Key(1), P(2), 2)));
        Assert.Equal(new IndexLookup(P(2), 2, false), slice.Lookup(Key(1)));
    }

    /// <summary>Apply orders by version only, not by id: the room left for a versioned move to a larger id (split).</summary>
    [Fact]
    public void Apply_orders_by_version_not_by_id()
    {
        var slice = new IndexSlice();
        slice.Apply(new IndexChange(Key(1), P(2), 1));
        Assert.True(slice.Apply(new IndexChange(Key(1), P(8), 2)));
        Assert.Equal(new IndexLookup(P(8), 2, false), slice.Lookup(Key(1)));
    }

    [Fact]
    public void Replaying_the_journal_twice_gives_the_same_slice()
    {
        var slice = new IndexSlice();
        var journal = new List<IndexChange>();
        journal.AddRange(Commit(slice, slice.DecideClaims([new ClaimRequest(Key(1), P(9)), new ClaimRequest(Key(2), P(8))])).Changes);
        journal.AddRange(Commit(slice, slice.DecideRepoints([new RepointRequest(Key(1), P(9), P(4))])).Changes);
        journal.AddRange(Commit(slice, slice.DecideClaims([new ClaimRequest(Key(3), P(7))])).Changes);
        journal.AddRange(Commit(slice, slice.DecideRepoints([new RepointRequest(Key(1), P(4), P(1)), new RepointRequest(Key(2), P(8), P(1))])).Changes);

        var replayed = new IndexSlice();
        Assert.Equal(journal.Count, journal.Count(replayed.Apply));
        Assert.Equal(0, journal.Count(replayed.Apply));
        Assert.Equal(slice.ToSnapshot(), replayed.ToSnapshot());

        // A snapshot taken in the middle plus the whole journal (events before the snapshot replayed again).
        var middle = new IndexSlice();
        journal.Take(3).ToList().ForEach(c => middle.Apply(c));
        var recovered = IndexSlice.FromSnapshot(middle.ToSnapshot());
        journal.ForEach(c => recovered.Apply(c));
        Assert.Equal(slice.ToSnapshot(), recovered.ToSnapshot());
    }

    [Fact]
    public void A_snapshot_round_trips_ordered_by_key()
    {
        var slice = SliceWith((3, 9), (1, 8), (2, 7), (4, 9));
        Commit(slice, slice.DecideRepoints([new RepointRequest(Key(3), P(9), P(2))]));

        var snapshot = slice.ToSnapshot();
        Assert.Equal(4, snapshot.Count);
        Assert.Equal(snapshot.Select(e => e.Key).Order(), snapshot.Select(e => e.Key));
        Assert.Contains(new IndexEntry(Key(3), P(2), 2), snapshot);

        var restored = IndexSlice.FromSnapshot(snapshot);
        Assert.Equal(snapshot, restored.ToSnapshot());
        Assert.Equal(slice.Count, restored.Count);
        foreach (var i in Enumerable.Range(0, 6))
        {
            Assert.Equal(slice.Lookup(Key(i)), restored.Lookup(Key(i)));
        }
    }

    [Fact]
    public void A_snapshot_with_an_identifier_twice_or_an_invalid_entry_is_refused()
    {
        Assert.Throws<ArgumentException>("entries", () => IndexSlice.FromSnapshot(
            [new IndexEntry(Key(1), P(1), 1), new IndexEntry(Key(1), P(2), 1)]));
        Assert.Throws<ArgumentException>("entries", () => IndexSlice.FromSnapshot([new IndexEntry(Key(1), P(1), 0)]));
        Assert.Throws<ArgumentException>("entries", () => IndexSlice.FromSnapshot([new IndexEntry(Key(1), default, 1)]));
        Assert.Throws<ArgumentException>("key", () => IndexSlice.FromSnapshot([new IndexEntry(default, P(1), 1)]));
    }

    [Fact]
    public void Keys_and_owners_come_back_exactly_as_they_were_given()
    {
        var slice = SliceWith([.. Enumerable.Range(0, 200).Select(i => (i, i % 7))]);
        var snapshot = slice.ToSnapshot();
        Assert.Equal(
            Enumerable.Range(0, 200).Select(i => (Key(i), P(i % 7))).OrderBy(e => e.Item1),
            snapshot.Select(e => (e.Key, e.Owner)));
        Assert.All(Enumerable.Range(0, 200), i => Assert.Equal(P(i % 7), slice.Lookup(Key(i)).Owner));
    }

    [Fact]
    public void Invalid_requests_are_refused()
    {
        var slice = new IndexSlice();
        Assert.Throws<ArgumentException>("key", () => slice.Lookup(default));
        Assert.Throws<ArgumentException>("key", () => slice.DecideClaims([new ClaimRequest(new IdentifierKey(""), P(1))]));
        // The slice packs keys into their 32 bytes: anything but the real form (64 lower-case hex digits) is refused.
        Assert.Throws<ArgumentException>("key", () => slice.Lookup(new IdentifierKey("k1")));
        Assert.Throws<ArgumentException>("key", () => slice.Lookup(new IdentifierKey(Key(1).Value.ToUpperInvariant())));
        Assert.Throws<ArgumentException>("key", () => slice.DecideClaims([new ClaimRequest(new IdentifierKey(Key(1).Value + "0"), P(1))]));
        Assert.Throws<ArgumentException>("claims", () => slice.DecideClaims([new ClaimRequest(Key(1), default)]));
        Assert.Throws<ArgumentException>("repoints", () => slice.DecideRepoints([new RepointRequest(Key(1), default, P(1))]));
        Assert.Throws<ArgumentException>("repoints", () => slice.DecideRepoints([new RepointRequest(Key(1), P(2), default)]));
        Assert.Throws<ArgumentException>("change", () => slice.Apply(new IndexChange(Key(1), P(1), 0)));
        Assert.Throws<ArgumentException>("changes", () => slice.Stage([new IndexChange(Key(1), P(1), -1)]));
        Assert.Throws<ArgumentNullException>(() => slice.DecideClaims(null!));
        Assert.Equal(0, slice.Count + slice.PendingCount);
    }
}
