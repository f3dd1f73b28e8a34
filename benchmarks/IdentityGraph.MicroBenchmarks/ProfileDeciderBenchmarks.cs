using BenchmarkDotNet.Attributes;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.MicroBenchmarks;

/// <summary>
/// The profile state machine: decide an observation on an absent profile (creates it), on a profile that already
/// knows it (a repeat visit: only last-seen moves), and apply the resulting event; a profile of
/// <see cref="Identifiers"/> identifiers shows how the cost grows with the profile.
/// </summary>
[MemoryDiagnoser]
public class ProfileDeciderBenchmarks
{
    private NormalizedObservation first = null!;
    private Core.Profiles.ObserveProfile repeat = null!;
    private ProfileState known = null!;
    private IProfileEvent repeatEvent = null!;

    [Params(5, 50)]
    public int Identifiers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        first = Samples.Normalized(1);
        known = ProfileState.Empty;
        // A profile that grew through Identifiers / 5 observations of 5 identifiers each.
        for (var i = 0; i < Identifiers / 5; i++)
        {
            var decided = ProfileDecider.Decide(known, new Core.Profiles.ObserveProfile(Samples.Normalized(i)));
            known = decided.Events.Aggregate(known, ProfileDecider.Apply);
        }

        // The same customer seen again the next day (last-seen is a UTC day: a same-day repeat decides no event at all).
        var again = Samples.Normalized(0) with { ObservationId = "bench-repeat", ObservedAt = Samples.Start.AddDays(1) };
        repeat = new Core.Profiles.ObserveProfile(again);
        repeatEvent = ProfileDecider.Decide(known, repeat).Events[0];
    }

    [Benchmark]
    public DecideResult DecideCreate() => ProfileDecider.Decide(ProfileState.Empty, new Core.Profiles.ObserveProfile(first));

    [Benchmark]
    public DecideResult DecideRepeatVisit() => ProfileDecider.Decide(known, repeat);

    [Benchmark]
    public ProfileState ApplyRepeatVisit() => ProfileDecider.Apply(known, repeatEvent);
}
