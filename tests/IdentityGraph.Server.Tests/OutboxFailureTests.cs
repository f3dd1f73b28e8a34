using System.Diagnostics;
using System.Globalization;
using System.Net;
using Confluent.Kafka;
using IdentityGraph.Kafka;
using IdentityGraph.Server.Tests.Support;
using Xunit.Abstractions;

namespace IdentityGraph.Server.Tests;

/// <summary>
/// The outbox when the broker will not take its records, on a real node: <c>serve</c> as a process on SQLite, the dev
/// broker in the test process refusing every produce request with a retriable error (injected, cluster-wide) while a
/// stream is being resolved. Readiness must turn 503 with <c>"outbox": "failing"</c> and the reason, the lag series
/// must keep reporting and grow, and once the broker takes records again the node must be ready again and every event
/// published, per-profile versions without gaps. Measured figures go to the test output.
/// </summary>
public sealed class OutboxFailureTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Long enough for several lag probes (every 5 s) and, with short delivery time-outs, several restarts.</summary>
    private static readonly TimeSpan HoldAfterDetection = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Deliveries_that_hang_on_a_retrying_producer_make_the_node_not_ready_as_stalled_and_it_recovers_when_the_broker_takes_records()
    {
        // librdkafka retries NOT_ENOUGH_REPLICAS until message.timeout.ms (5 minutes by default): the outbox's batch
        // waits for its deliveries, the stream does not fail, and only the stall time-out can tell.
        var run = await RunAsync(ErrorCode.NotEnoughReplicas, producerTimeout: null);
        Assert.StartsWith("stalled", run.Reason, StringComparison.Ordinal);
        Assert.Equal(0, run.FailuresAtClear);
    }

    [Fact]
    public async Task Deliveries_that_time_out_fail_the_stream_make_the_node_not_ready_and_count_failures_and_it_recovers_when_the_broker_takes_records()
    {
        // message.timeout.ms 3 s: every delivery fails terminally (Local_MsgTimedOut), so the stream fails and restarts
        // from its checkpoint with back-off, again and again.
        var run = await RunAsync(ErrorCode.RequestTimedOut, producerTimeout: TimeSpan.FromSeconds(3));
        Assert.StartsWith("publishing failed", run.Reason, StringComparison.Ordinal);
        Assert.True(run.FailuresAtDetection >= 1, $"failures at detection: {run.FailuresAtDetection}");
        Assert.True(run.FailuresAtClear > run.FailuresAtDetection, $"failures did not go on: {run.FailuresAtDetection} → {run.FailuresAtClear}");
    }

    private sealed record Run(string Reason, double FailuresAtDetection, double FailuresAtClear);

    private async Task<Run> RunAsync(ErrorCode error, TimeSpan? producerTimeout)
    {
        await using var rig = InProcessBrokerRig.Start(partitions: 4);
        var environment = new List<(string, string)>
        {
            ("IdentityGraph__Kafka__Outbox__StallTimeout", StallTimeout.ToString()),
            // One small batch at a time: the node must still be resolving the stream (and writing events the outbox
            // cannot publish) well after the broker starts refusing. At full speed it resolved all 16,000 observations
            // within seconds, and the lag stopped growing before the first probe after the injection. The input must be
            // on the broker before the injection (the errors hit every producer), and the dev broker keeps only 5 MiB
            // per partition, so a longer stream is no way out: its oldest records would be gone before they are read.
            ("IdentityGraph__Graph__Batch__MaxSize", "4"),
            ("IdentityGraph__Graph__Batch__MaxInFlight", "1"),
        };
        if (producerTimeout is { } timeout)
        {
            environment.Add(("IdentityGraph__Kafka__Outbox__Producer__message.timeout.ms", ((int)timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)));
        }

        await rig.StartServeAsync([.. environment]);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        // A stream long enough that the node, resolving in small batches, is still at it well after publishing stops.
        var input = Path.Combine(rig.Directory, "observations.jsonl");
        var lines = new ObservationGenerator(seed: 23, customers: 4800, householdLinkRate: 0.06).JsonLines(16000).ToList();
        await File.WriteAllLinesAsync(input, lines);
        await Kcat.ProduceLinesAsync(rig.BootstrapServers, Kafka.Topics.Observations, lines);
        await WaitForAsync(async () => await rig.MetricAsync(client, "identitygraph_outbox_published_total") >= 20, TimeSpan.FromSeconds(120), "the first published events", rig);

        // From here every produce request, to any broker, fails: the input is already on the broker, and the outbox is
        // the only producer left (the stream has no invalid records for the ingestion's dead-letter producer).
        rig.Broker.FailRequests(KafkaApi.Produce, error, 1_000_000);
        var clock = Stopwatch.StartNew();
        var samples = new List<Sample>();
        var detected = await PollAsync(rig, client, clock, samples, s => s.Status == HttpStatusCode.ServiceUnavailable && s.Outbox == "failing", TimeSpan.FromSeconds(120))
            ?? throw new Xunit.Sdk.XunitException($"/readyz did not report the outbox failing within 120 s\n{Describe(samples)}\n{rig.Log}");
        var detectedAfter = detected.At;
        Assert.NotNull(detected.Reason);
        Assert.Equal(1, detected.Failing);

        // The node stays not ready for as long as the broker refuses, and the lag series keep reporting and grow.
        var holdUntil = clock.Elapsed + HoldAfterDetection;
        await PollAsync(rig, client, clock, samples, _ => clock.Elapsed > holdUntil, HoldAfterDetection + TimeSpan.FromSeconds(30));
        var held = samples.Where(s => s.At >= detectedAfter).ToList();
        Assert.All(held, s => Assert.True(s.Status == HttpStatusCode.ServiceUnavailable && s.Outbox == "failing", $"at {s.At.TotalSeconds:F1} s: {s}"));
        Assert.All(samples, s => Assert.True(s.LagEvents is not null && s.LagSeconds is not null, $"a lag series was missing at {s.At.TotalSeconds:F1} s"));
        var afterInjection = samples.Where(s => s.At >= TimeSpan.FromSeconds(5.5)).ToList(); // at least one lag probe since
        Assert.True(afterInjection.Max(s => s.LagEvents) > samples[0].LagEvents, $"lag in events did not grow\n{Describe(samples)}");
        Assert.True(held[^1].LagSeconds > held[0].LagSeconds + 5, $"lag in seconds did not grow\n{Describe(samples)}");
        // The lag is probed every 5 s: until the first probe after the injection it is the lag at the injection, which is
        // 0 when the outbox had published everything (it publishes as soon as a write is durable).
        Assert.All(held.Where(s => s.At >= TimeSpan.FromSeconds(5.5)), s => Assert.True(s.LagEvents > 0, $"at {s.At.TotalSeconds:F1} s: {s}"));

        rig.Broker.ClearRequestErrors(KafkaApi.Produce);
        var cleared = clock.Elapsed;
        var failuresAtClear = held[^1].Failures ?? -1;
        var ready = await PollAsync(rig, client, clock, samples, s => s.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(120))
            ?? throw new Xunit.Sdk.XunitException($"/readyz did not turn 200 within 120 s of the broker taking records again\n{Describe(samples)}\n{rig.Log}");
        Assert.Equal("publishing", ready.Outbox);
        var readyAfter = ready.At - cleared;

        // Everything is published: the downstream view equals the reference partition, every profile's versions are
        // complete (no gap; duplicates from a re-published batch are allowed), nothing was dead-lettered, lag 0.
        var expected = PartitionFiles.Reference(input);
        var settle = Stopwatch.StartNew();
        (Dictionary<string, List<long>> Versions, List<string> View) changelog;
        while (!(changelog = await Task.Run(rig.Changelog)).View.SequenceEqual(expected) || await rig.MetricAsync(client, "identitygraph_outbox_lag_events") != 0)
        {
            Assert.True(settle.Elapsed < TimeSpan.FromMinutes(4), $"view {changelog.View.Count} profiles, reference {expected.Count}\n{rig.Log}");
            await Task.Delay(1000);
        }

        foreach (var (profile, versions) in changelog.Versions)
        {
            var distinct = versions.Distinct().Order().ToList();
            Assert.True(distinct.SequenceEqual(Enumerable.Range(1, distinct.Count).Select(v => (long)v)), $"{profile}: versions {string.Join(",", distinct)}");
        }

        var events = changelog.Versions.Sum(v => v.Value.Count);
        var duplicates = events - changelog.Versions.Sum(v => v.Value.Distinct().Count());
        Assert.Empty(rig.ReadAll(Kafka.Topics.ProfileEventsDeadLetters));
        Assert.Equal(0, await rig.MetricAsync(client, "identitygraph_outbox_dead_letters_total", "event.refused"));
        Assert.Equal(0, await rig.MetricAsync(client, "identitygraph_outbox_failing"));
        Assert.Equal(HttpStatusCode.OK, (await rig.ReadinessAsync(client)).Status);

        output.WriteLine($"injected {error} on every produce request{(producerTimeout is { } t ? $", message.timeout.ms {t.TotalMilliseconds}" : "")}, stall time-out {StallTimeout.TotalSeconds} s");
        output.WriteLine($"/readyz 503 (outbox failing: \"{detected.Reason}\") {detectedAfter.TotalSeconds:F1} s after the broker began refusing");
        output.WriteLine($"lag while failing: {samples[0].LagEvents} → {held[^1].LagEvents} events, {held[0].LagSeconds:F1} → {held[^1].LagSeconds:F1} s; outbox failures {detected.Failures} at detection, {failuresAtClear} at clearing");
        output.WriteLine($"/readyz 200 again {readyAfter.TotalSeconds:F1} s after the broker took records again; settled (view = reference, lag 0) {settle.Elapsed.TotalSeconds:F1} s after that");
        output.WriteLine($"changelog: {changelog.Versions.Count} profiles, {events} events, {duplicates} re-published duplicates; {lines.Count} observations, {expected.Count} reference profiles");
        output.WriteLine(Describe(samples));

        Assert.Equal(0, await rig.StopServeAsync(TimeSpan.FromSeconds(60)));
        return new Run(detected.Reason!, detected.Failures ?? -1, failuresAtClear);
    }

    private sealed record Sample(
        TimeSpan At, HttpStatusCode Status, string? Outbox, string? Reason, double? LagEvents, double? LagSeconds, double? Failing, double? Failures)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{At.TotalSeconds,6:F1} s  {(int)Status} outbox={Outbox} lag={LagEvents} events/{LagSeconds:F1} s failing={Failing} failures={Failures} {Reason}");
    }

    /// <summary>Samples /readyz and the outbox series every half second until <paramref name="until"/> holds (that sample) or <paramref name="limit"/> passes (null).</summary>
    private static async Task<Sample?> PollAsync(
        InProcessBrokerRig rig, HttpClient client, Stopwatch clock, List<Sample> samples, Func<Sample, bool> until, TimeSpan limit)
    {
        var deadline = clock.Elapsed + limit;
        while (clock.Elapsed < deadline)
        {
            var at = clock.Elapsed;
            var (status, checks) = await rig.ReadinessAsync(client);
            var sample = new Sample(
                at,
                status,
                checks.TryGetProperty("outbox", out var outbox) ? outbox.GetString() : null,
                checks.TryGetProperty("outboxReason", out var reason) ? reason.GetString() : null,
                await rig.MetricAsync(client, "identitygraph_outbox_lag_events"),
                await rig.MetricAsync(client, "identitygraph_outbox_lag_seconds"),
                await rig.MetricAsync(client, "identitygraph_outbox_failing"),
                await rig.MetricAsync(client, "identitygraph_outbox_failures_total"));
            samples.Add(sample);
            if (until(sample))
            {
                return sample;
            }

            await Task.Delay(500);
        }

        return null;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan limit, string what, InProcessBrokerRig rig)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < limit, $"waiting for {what} timed out\n{rig.Log}");
            await Task.Delay(200);
        }
    }

    private static string Describe(IEnumerable<Sample> samples) => string.Join("\n", samples.Where((_, i) => i % 4 == 0).Select(s => s.ToString()));
}
