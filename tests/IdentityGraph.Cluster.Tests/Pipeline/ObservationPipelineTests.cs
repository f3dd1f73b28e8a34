using System.Diagnostics;
using System.Text;
using Google.Protobuf;
using IdentityGraph.Cluster.Persistence;
using IdentityGraph.Cluster.Pipeline;
using IdentityGraph.Cluster.Resolution;
using IdentityGraph.Cluster.Tests.Graph;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Tests.Pipeline;

/// <summary>
/// The one observation pipeline (parse → validate → normalise → resolve) and its retry policy, on a real single-node
/// graph on SQLite: typed outcomes for permanent refusals and transient failures. Transient failures come from a real
/// resolver that was stopped, which fails every call at once.
/// </summary>
public sealed class ObservationPipelineTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly string directory = Directory.CreateTempSubdirectory("identitygraph-test-").FullName;

    [Fact]
    public async Task Invalid_input_is_refused_with_the_parser_code_and_a_valid_one_is_ready_with_its_dropped_identifiers()
    {
        await using var graph = await StartAsync("prepare");
        var pipeline = new ObservationPipeline(graph.Resolver);

        Assert.Equal(ObservationErrorCodes.InvalidJson, Refusal(pipeline.Prepare("{\"observationId\": ")).Code);
        Assert.Equal(ObservationErrorCodes.InvalidJson, Refusal(pipeline.Prepare("not json"u8.ToArray(), "application/json")).Code);
        Assert.Equal(ObservationErrorCodes.Unparseable, Refusal(pipeline.Prepare([0xff, 0xff, 0xff], null)).Code);
        Assert.Equal(ObservationErrorCodes.Empty, Refusal(pipeline.Prepare(null, null)).Code);
        Assert.Equal(ObservationErrorCodes.MissingId, Refusal(pipeline.Prepare("{\"observedAt\":\"2025-03-01T12:00:00Z\",\"identifiers\":[{\"type\":\"EMAIL\",\"value\":\"ann@example.com\"}]}")).Code);
        // A record larger than the parse limits is refused before it is parsed.
        var small = new ObservationPipeline(graph.Resolver, new ObservationLimits { MaxRecordBytes = 16 });
        Assert.Equal(ObservationErrorCodes.TooLarge, Refusal(small.Prepare(Observe("big", "ann@example.com").ToByteArray(), null)).Code);

        var observation = Observe("o1", "ann@example.com", "noreply@example.com");
        foreach (var prepared in new[]
        {
            pipeline.Prepare(observation.ToByteArray(), null),
            pipeline.Prepare(Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(observation)), "application/json"),
            pipeline.Prepare(JsonFormatter.Default.Format(observation)),
        })
        {
            var ready = Assert.IsType<Prepared.Ready>(prepared);
            Assert.Equal("o1", ready.Observation.ObservationId);
            Assert.Single(ready.Observation.Identifiers);
            Assert.Equal(IdentifierErrorCodes.Placeholder, Assert.Single(ready.Dropped).Error.Code);
        }
    }

    [Fact]
    public async Task A_valid_observation_is_resolved_and_again_is_nothing_new()
    {
        await using var graph = await StartAsync("resolved");
        var pipeline = new ObservationPipeline(graph.Resolver);
        var failures = new List<FailedAttempt>();
        var policy = new RetryPolicy(3) { Failed = (f, _) => failures.Add(f) };
        var observation = Ready(pipeline, Observe("o1", "ann@example.com", "+4512345678"));

        var created = Assert.IsType<PipelineOutcome.Resolved>(await pipeline.ResolveAsync(observation, policy));
        Assert.Equal(ResolveOutcome.Created, created.Result.Outcome);
        var again = Assert.IsType<PipelineOutcome.Resolved>(await pipeline.ResolveAsync(observation, policy));
        Assert.Equal(created.Result with { Outcome = ResolveOutcome.NothingNew }, again.Result);

        Assert.Equal(2, pipeline.ResolvedCount);
        Assert.Empty(failures);
        Assert.Equal(created.Result.ProfileId, await graph.Resolver.FindProfileByKeyAsync(observation.Identifiers[0].Key));
    }

    [Fact]
    public async Task An_observation_over_the_identifier_limit_is_refused_for_good_and_not_retried()
    {
        await using var graph = await StartAsync("limit", new ProfileLimits { MaxIdentifiers = 2 });
        var pipeline = new ObservationPipeline(graph.Resolver);
        var failures = 0;
        var policy = new RetryPolicy(10)
        {
            Counts = (_, _) => throw new InvalidOperationException("a refusal is not a failed attempt"),
            Failed = (_, _) => Interlocked.Increment(ref failures),
        };
        var observation = Ready(pipeline, Observe("wide", "ann@example.com", "ann.work@example.com", "+4512345678"));

        var refused = Assert.IsType<PipelineOutcome.Refused>(await pipeline.ResolveAsync(observation, policy));

        Assert.Equal(ProfileLimits.IdentifierLimitCode, refused.Error.Code);
        Assert.Equal(0, failures);
        Assert.Equal(0, pipeline.ResolvedCount);
        // Nothing was written for it.
        Assert.All(observation.Identifiers, i => Assert.Null(graph.Resolver.FindProfileByKeyAsync(i.Key).GetAwaiter().GetResult()));
    }

    [Fact]
    public async Task A_transient_failure_is_retried_with_the_backoff_and_gives_up_after_the_bound()
    {
        await using var graph = await StartAsync("gives-up");
        var pipeline = new ObservationPipeline(graph.Resolver);
        var observation = Ready(pipeline, Observe("o1", "ann@example.com"));
        graph.Resolver.Stop();

        var steps = new List<(FailedAttempt Failure, RetryDecision Decision)>();
        var policy = new RetryPolicy(3, new BackoffSchedule(TimeSpan.FromMilliseconds(40), TimeSpan.FromSeconds(1)))
        {
            Failed = (f, d) => steps.Add((f, d)),
        };
        var clock = Stopwatch.StartNew();
        var gaveUp = Assert.IsType<PipelineOutcome.GaveUp>(await pipeline.ResolveAsync(observation, policy));
        clock.Stop();

        Assert.Equal(3, gaveUp.Attempts);
        Assert.IsType<ObjectDisposedException>(gaveUp.Error);
        Assert.Equal([1, 2, 3], steps.Select(s => s.Failure.Attempt));
        Assert.Equal(
            [
                new RetryDecision(true, 1, false, TimeSpan.FromMilliseconds(40)),
                new RetryDecision(true, 2, false, TimeSpan.FromMilliseconds(80)),
                new RetryDecision(true, 3, true, null),
            ],
            steps.Select(s => s.Decision));
        Assert.All(steps, s => Assert.Same(observation, s.Failure.Observation));
        // It waited its back-off (40 + 80 ms) between the attempts: a lower bound, less the timers' own slack (a delay
        // can end a fraction of a millisecond early by the stopwatch; 119.8 ms was seen).
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(110), $"{clock.Elapsed}");
    }

    [Fact]
    public async Task A_failure_the_policy_does_not_count_is_retried_beyond_the_bound_and_a_hold_restarts_the_backoff()
    {
        await using var graph = await StartAsync("hook");
        var pipeline = new ObservationPipeline(graph.Resolver);
        var observation = Ready(pipeline, Observe("o1", "ann@example.com"));
        graph.Resolver.Stop();

        // Attempts 2 and 3 do not count (say, the journal was down); the journal goes down after attempt 3 fails.
        var hold = new TestHold();
        var steps = new List<(FailedAttempt Failure, RetryDecision Decision)>();
        var policy = new RetryPolicy(3, new BackoffSchedule(TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1)))
        {
            Hold = hold,
            Counts = (f, _) =>
            {
                hold.IsHeld = f.Attempt == 3;
                return ValueTask.FromResult(f.Attempt is not (2 or 3));
            },
            Failed = (f, d) => steps.Add((f, d)),
        };

        var gaveUp = Assert.IsType<PipelineOutcome.GaveUp>(await pipeline.ResolveAsync(observation, policy));

        Assert.Equal(3, gaveUp.Attempts);
        Assert.Equal(5, steps.Count);
        Assert.Equal(
            [
                new RetryDecision(true, 1, false, TimeSpan.FromMilliseconds(10)),
                new RetryDecision(false, 1, false, TimeSpan.FromMilliseconds(20)),
                // Held: retried when the hold ends, not after a back-off ...
                new RetryDecision(false, 1, false, null),
                // ... and the back-off starts again from its first step.
                new RetryDecision(true, 2, false, TimeSpan.FromMilliseconds(10)),
                new RetryDecision(true, 3, true, null),
            ],
            steps.Select(s => s.Decision));
        Assert.Equal(1, hold.Waited);
        Assert.All(steps, s => Assert.Equal(0, s.Failure.OthersResolved));
    }

    [Fact]
    public void The_default_backoff_is_100_ms_doubling_to_10_s()
    {
        var schedule = BackoffSchedule.Default;
        Assert.Equal(
            [100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000],
            Enumerable.Range(1, 9).Select(n => schedule.For(n).TotalMilliseconds));
        Assert.Equal(TimeSpan.FromSeconds(10), schedule.For(int.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BackoffSchedule(TimeSpan.Zero, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(0));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private Task<TestGraph> StartAsync(string purpose, ProfileLimits? limits = null) =>
        TestGraph.StartAsync(StorageSettings.Parse($"sqlite:{Path.Combine(directory, purpose + ".db")}"), limits: limits);

    private static ValidationError Refusal(Prepared prepared) => Assert.IsType<Prepared.Refused>(prepared).Error;

    private static NormalizedObservation Ready(ObservationPipeline pipeline, Observation observation) =>
        Assert.IsType<Prepared.Ready>(pipeline.Prepare(observation.ToByteArray(), null)).Observation;

    private static Observation Observe(string id, params string[] identifiers) => GraphBehaviourTests.Observe(id, T0, identifiers);

    /// <summary>A hold that a test closes; waiting for it opens it again at once (the journal came back).</summary>
    private sealed class TestHold : IAttemptHold
    {
        public bool IsHeld { get; set; }

        public int Waited { get; private set; }

        public CancellationToken AttemptToken => CancellationToken.None;

        public Task WaitAsync(CancellationToken cancellationToken)
        {
            if (IsHeld)
            {
                Waited++;
                IsHeld = false;
            }

            return Task.CompletedTask;
        }
    }
}
