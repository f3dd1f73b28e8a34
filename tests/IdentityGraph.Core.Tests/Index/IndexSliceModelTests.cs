using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Index;
using IdentityGraph.Core.Profiles;
using static IdentityGraph.Core.Tests.Index.IndexSliceTests;

namespace IdentityGraph.Core.Tests.Index;

/// <summary>
/// Random runs of an actor's life (decide, stage, writes completing in order, snapshots, crashes and recovery) against
/// a plain model: owners as dictionaries, decisions made one request at a time. Small key and profile pools make
/// claims collide and repoints succeed often.
/// </summary>
public sealed class IndexSliceModelTests
{
    private const int KeyPool = 10;
    private const int ProfilePool = 8;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(20261205)]
    [InlineData(int.MaxValue)]
    public void Random_operations_agree_with_the_model(int seed)
    {
        var random = new Random(seed);
        var run = new Run();
        for (var step = 0; step < 400; step++)
        {
            switch (random.Next(10))
            {
                case < 3:
                    run.Claim(random);
                    break;
                case < 6:
                    run.Repoint(random);
                    break;
                case < 8:
                    run.CompleteOldestWrite();
                    break;
                case 8:
                    run.TakeSnapshot();
                    break;
                default:
                    run.CrashAndRecover(random);
                    break;
            }

            run.AssertAgreement();
        }

        // Let every write complete: nothing stays pending.
        while (run.CompleteOldestWrite())
        {
        }

        run.AssertAgreement();
        Assert.Equal(0, run.Slice.PendingCount);
    }

    private sealed class Run
    {
        private readonly Dictionary<IdentifierKey, (ProfileId Owner, long Version)> durable = [];
        private readonly Dictionary<IdentifierKey, (ProfileId Owner, long Version)> effective = [];
        private readonly Queue<IReadOnlyList<IndexChange>> inFlight = new();
        private readonly List<IndexChange> journal = [];
        private IReadOnlyList<IndexEntry> snapshot = [];
        private int journalAtSnapshot;

        public IndexSlice Slice { get; private set; } = new();

        private HashSet<IdentifierKey> PendingKeys => [.. inFlight.SelectMany(d => d.Select(c => c.Key))];

        public void Claim(Random random)
        {
            var requests = Enumerable.Range(0, random.Next(1, 6))
                .Select(_ => new ClaimRequest(Key(random.Next(KeyPool)), P(random.Next(ProfilePool))))
                .ToList();
            var pendingBefore = PendingKeys;
            var decision = Slice.DecideClaims(requests);

            var changed = new List<IdentifierKey>();
            var expectedAnswers = new List<IndexAnswer>();
            foreach (var (key, candidate) in requests)
            {
                var took = effective.TryAdd(key, (candidate, 1));
                if (took)
                {
                    changed.Add(key);
                }

                expectedAnswers.Add(new IndexAnswer(key, effective[key].Owner, changed.Contains(key) || pendingBefore.Contains(key), Changed: took));
            }

            Assert.Equal(expectedAnswers, decision.Answers);
            Assert.Equal(changed.Select(k => new IndexChange(k, effective[k].Owner, 1)), decision.Changes);
            StageAndWrite(decision);
        }

        public void Repoint(Random random)
        {
            var requests = new List<RepointRequest>();
            for (var n = random.Next(1, 6); n > 0; n--)
            {
                var key = Key(random.Next(KeyPool));
                // Mostly "from" the current owner, so that the "to" rule decides; sometimes any profile.
                var from = effective.TryGetValue(key, out var current) && random.Next(4) > 0 ? current.Owner : P(random.Next(ProfilePool));
                requests.Add(new RepointRequest(key, from, P(random.Next(ProfilePool))));
            }

            var pendingBefore = PendingKeys;
            var versionBefore = effective.ToDictionary(p => p.Key, p => p.Value.Version);
            var decision = Slice.DecideRepoints(requests);

            var changed = new List<IdentifierKey>();
            var expectedAnswers = new List<IndexAnswer>();
            foreach (var (key, from, to) in requests)
            {
                var moved = effective.TryGetValue(key, out var current) && current.Owner == from && to < from;
                if (moved)
                {
                    effective[key] = (to, versionBefore[key] + 1);
                    if (!changed.Contains(key))
                    {
                        changed.Add(key);
                    }
                }

                expectedAnswers.Add(effective.TryGetValue(key, out var now)
                    ? new IndexAnswer(key, now.Owner, changed.Contains(key) || pendingBefore.Contains(key), Changed: moved)
                    : new IndexAnswer(key, null, false));
            }

            Assert.Equal(expectedAnswers, decision.Answers);
            Assert.Equal(changed.Select(k => new IndexChange(k, effective[k].Owner, effective[k].Version)), decision.Changes);
            StageAndWrite(decision);
        }

        /// <summary>The oldest write in flight becomes durable (a journal completes writes in order).</summary>
        public bool CompleteOldestWrite()
        {
            if (!inFlight.TryDequeue(out var changes))
            {
                return false;
            }

            Slice.MarkDurable(changes);
            journal.AddRange(changes);
            foreach (var change in changes)
            {
                Assert.True(!durable.TryGetValue(change.Key, out var old) || change.Owner < old.Owner, "owners only move to smaller ids");
                Assert.Equal(durable.TryGetValue(change.Key, out var before) ? before.Version + 1 : 1, change.Version);
                durable[change.Key] = (change.Owner, change.Version);
            }

            return true;
        }

        public void TakeSnapshot()
        {
            snapshot = Slice.ToSnapshot();
            journalAtSnapshot = journal.Count;
        }

        /// <summary>
        /// Writes in flight are lost; the slice recovers from the last snapshot and the journal, replaying some events
        /// from before the snapshot again (as a snapshot that raced with its events would).
        /// </summary>
        public void CrashAndRecover(Random random)
        {
            inFlight.Clear();
            effective.Clear();
            foreach (var (key, owned) in durable)
            {
                effective[key] = owned;
            }

            Slice = IndexSlice.FromSnapshot(snapshot);
            foreach (var change in journal.Skip(Math.Max(0, journalAtSnapshot - random.Next(4))))
            {
                Slice.Apply(change);
            }
        }

        public void AssertAgreement()
        {
            var pendingKeys = PendingKeys;
            foreach (var key in Enumerable.Range(0, KeyPool).Select(Key))
            {
                var expected = durable.TryGetValue(key, out var owned)
                    ? new IndexLookup(owned.Owner, owned.Version, pendingKeys.Contains(key))
                    : new IndexLookup(null, 0, pendingKeys.Contains(key));
                Assert.Equal(expected, Slice.Lookup(key));
            }

            Assert.Equal(durable.Count, Slice.Count);
            Assert.Equal(pendingKeys.Count, Slice.PendingCount);
            Assert.Equal(
                durable.Select(p => new IndexEntry(p.Key, p.Value.Owner, p.Value.Version)).OrderBy(e => e.Key),
                Slice.ToSnapshot());
        }

        private void StageAndWrite(IndexDecision decision)
        {
            Slice.Stage(decision.Changes);
            if (decision.Changes.Count > 0)
            {
                inFlight.Enqueue(decision.Changes);
            }
        }
    }
}
