using IdentityGraph.Core.Profiles;
using static IdentityGraph.Core.Tests.Profiles.ProfileGenerators;
using ConsentStatus = IdentityGraph.Contracts.V1.ConsentStatus;
using ContactChannel = IdentityGraph.Contracts.V1.ContactChannel;

namespace IdentityGraph.Core.Tests.Profiles;

/// <summary>Every command in every status, rejections with their codes, idempotency and versions.</summary>
public sealed class ProfileDeciderTests
{
    private static readonly ProfileId Older = ProfileId.For("older", T0.AddDays(-2));
    private static readonly ProfileId Other = ProfileId.For("other", T0.AddDays(-1));
    private static readonly ProfileId Self = ProfileId.For("self", T0);
    private static readonly ProfileId Newer = ProfileId.For("newer", T0.AddDays(1));

    private static readonly ProfileContent NewerContent = Fold(
        [Observation("n1", T0.AddMinutes(3), [7, 8], [new("marketing", ContactChannel.Email, ConsentStatus.Denied, T0)])]);

    private static ProfileState StateIn(ProfileStatus status) => status switch
    {
        ProfileStatus.Absent => ProfileState.Empty,
        ProfileStatus.Live => ProfileDecider.Replay([Created()]),
        ProfileStatus.MergedAway => ProfileDecider.Replay([Created(), new ProfileMergedAway(Older, "m1", T0.AddHours(1))]),
        ProfileStatus.Erased => ProfileDecider.Replay([Created(), new ProfileErased("r1", T0.AddHours(1))]),
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    private static ProfileCreated Created() =>
        new("o1", T0, ProfileContent.FromObservation(Observation("o1", T0, [1, 2])));

    private static IProfileCommand CommandFor(string command) => command switch
    {
        "observe" => new ObserveProfile(Observation("o2", T0.AddMinutes(1), [2, 3])),
        "absorb" => new AbsorbProfile(Self, Newer, NewerContent, "m2", T0.AddHours(2)),
        "retire" => new RetireIntoSurvivor(Self, Older, "m1", T0.AddHours(1)),
        "erase" => new EraseProfile("r1", T0.AddHours(1)),
        "absorb-self" => new AbsorbProfile(Self, Self, NewerContent, "m3", T0),
        "absorb-older" => new AbsorbProfile(Self, Older, NewerContent, "m3", T0),
        "retire-self" => new RetireIntoSurvivor(Self, Self, "m3", T0),
        "retire-newer" => new RetireIntoSurvivor(Self, Newer, "m3", T0),
        "retire-other" => new RetireIntoSurvivor(Self, Other, "m3", T0),
        _ => throw new ArgumentOutOfRangeException(nameof(command)),
    };

    public static TheoryData<ProfileStatus, string, string?, string?> Matrix => new()
    {
        // status, command, expected event type (or null), expected rejection code (or null)
        { ProfileStatus.Absent, "observe", nameof(ProfileCreated), null },
        { ProfileStatus.Absent, "absorb", nameof(ProfileAbsorbed), null },
        { ProfileStatus.Absent, "retire", nameof(ProfileMergedAway), null },
        { ProfileStatus.Absent, "erase", null, ProfileRejection.NotFound },
        { ProfileStatus.Live, "observe", nameof(ObservationApplied), null },
        { ProfileStatus.Live, "absorb", nameof(ProfileAbsorbed), null },
        { ProfileStatus.Live, "retire", nameof(ProfileMergedAway), null },
        { ProfileStatus.Live, "erase", nameof(ProfileErased), null },
        { ProfileStatus.MergedAway, "observe", null, ProfileRejection.Redirect },
        { ProfileStatus.MergedAway, "absorb", null, ProfileRejection.Redirect },
        { ProfileStatus.MergedAway, "retire", null, null },
        { ProfileStatus.MergedAway, "retire-other", null, ProfileRejection.MergedElsewhere },
        { ProfileStatus.MergedAway, "erase", null, ProfileRejection.Redirect },
        { ProfileStatus.Erased, "observe", null, ProfileRejection.Erased },
        { ProfileStatus.Erased, "absorb", null, ProfileRejection.Erased },
        { ProfileStatus.Erased, "retire", null, ProfileRejection.Erased },
        { ProfileStatus.Erased, "erase", null, null },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Decides_every_command_in_every_status(ProfileStatus status, string command, string? expectedEvent, string? expectedRejection)
    {
        var state = StateIn(status);
        var result = ProfileDecider.Decide(state, CommandFor(command));
        Assert.Equal(expectedRejection, result.Rejection?.Code);
        Assert.Equal(expectedEvent is null ? [] : [expectedEvent], result.Events.Select(e => e.GetType().Name));
        if (result.Rejection is { } rejection)
        {
            Assert.Empty(result.Events);
            Assert.False(string.IsNullOrWhiteSpace(rejection.Message));
            var redirects = rejection.Code is ProfileRejection.Redirect or ProfileRejection.MergedElsewhere;
            Assert.Equal(redirects ? Older : null, rejection.RedirectTo);
        }

        // Deciding changes nothing.
        Assert.Equal(StateIn(status), state);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Every_command_is_idempotent(ProfileStatus status, string command, string? expectedEvent, string? expectedRejection)
    {
        _ = expectedEvent;
        var state = StateIn(status);
        var first = ProfileDecider.Decide(state, CommandFor(command));
        var after = first.Events.Aggregate(state, ProfileDecider.Apply);
        Assert.Equal(state.Version + first.Events.Count, after.Version);

        var again = ProfileDecider.Decide(after, CommandFor(command));
        Assert.Empty(again.Events);
        Assert.Equal(expectedRejection, again.Rejection?.Code);
    }

    [Theory]
    [InlineData(ProfileStatus.Absent)]
    [InlineData(ProfileStatus.Live)]
    [InlineData(ProfileStatus.MergedAway)]
    [InlineData(ProfileStatus.Erased)]
    public void Self_merges_and_wrong_directions_are_rejected_in_every_status(ProfileStatus status)
    {
        var state = StateIn(status);
        Assert.Equal(ProfileRejection.SelfMerge, ProfileDecider.Decide(state, CommandFor("absorb-self")).Rejection?.Code);
        Assert.Equal(ProfileRejection.SelfMerge, ProfileDecider.Decide(state, CommandFor("retire-self")).Rejection?.Code);
        Assert.Equal(ProfileRejection.WrongDirection, ProfileDecider.Decide(state, CommandFor("absorb-older")).Rejection?.Code);
        Assert.Equal(ProfileRejection.WrongDirection, ProfileDecider.Decide(state, CommandFor("retire-newer")).Rejection?.Code);
        Assert.All(
            new[] { "absorb-self", "retire-self", "absorb-older", "retire-newer" },
            c => Assert.Empty(ProfileDecider.Decide(state, CommandFor(c)).Events));
    }

    [Fact]
    public void Observe_creates_then_applies_deltas_and_versions_grow_by_one_per_event()
    {
        var created = Run(ProfileState.Empty, CommandFor("observe"));
        Assert.Equal((1L, ProfileStatus.Live), (created.Version, created.Status));
        Assert.Equal(ProfileContent.FromObservation(Observation("o2", T0.AddMinutes(1), [2, 3])), created.Content);

        var observation = Observation("o3", T0.AddMinutes(2), [3, 4]);
        var result = ProfileDecider.Decide(created, new ObserveProfile(observation));
        var applied = Assert.IsType<ObservationApplied>(Assert.Single(result.Events));
        Assert.Equal(("o3", T0.AddMinutes(2)), (applied.ObservationId, applied.OccurredAt));
        Assert.Equal(created.Content.Delta(ProfileContent.FromObservation(observation)), applied.Delta);

        var updated = ProfileDecider.Apply(created, applied);
        Assert.Equal(2, updated.Version);
        Assert.Equal(created.Content.Join(ProfileContent.FromObservation(observation)), updated.Content);

        // An observation that adds nothing (an older sighting of known identifiers) writes nothing.
        Assert.Empty(ProfileDecider.Decide(updated, new ObserveProfile(Observation("o0", T0.AddMinutes(1), [3]))).Events);
    }

    [Fact]
    public void Absorbing_into_an_absent_profile_creates_it_live()
    {
        var state = Run(ProfileState.Empty, CommandFor("absorb"));
        Assert.Equal(ProfileStatus.Live, state.Status);
        Assert.Equal(1, state.Version);
        Assert.Equal(NewerContent.WithMergedProfileIds([Newer]), state.Content);
    }

    [Fact]
    public void Absorbing_adds_content_and_the_absorbed_id()
    {
        var live = StateIn(ProfileStatus.Live);
        var result = ProfileDecider.Decide(live, CommandFor("absorb"));
        var absorbed = Assert.IsType<ProfileAbsorbed>(Assert.Single(result.Events));
        Assert.Equal((Newer, "m2", T0.AddHours(2)), (absorbed.Absorbed, absorbed.ObservationId, absorbed.OccurredAt));
        var after = ProfileDecider.Apply(live, absorbed);
        Assert.Equal(live.Content.Join(NewerContent).WithMergedProfileIds([Newer]), after.Content);
        Assert.Equal(live.Version + 1, after.Version);

        // Absorbing an empty profile still records the merge.
        var empty = ProfileDecider.Decide(live, new AbsorbProfile(Self, ProfileId.For("empty", T0.AddDays(3)), ProfileContent.Empty, "m9", T0));
        Assert.Single(empty.Events);
    }

    [Fact]
    public void Retiring_from_absent_is_allowed_and_leaves_a_redirect()
    {
        var state = Run(ProfileState.Empty, CommandFor("retire"));
        Assert.Equal((1L, ProfileStatus.MergedAway, (ProfileId?)Older), (state.Version, state.Status, state.MergedInto));
        Assert.True(state.Content.IsEmpty);
    }

    [Fact]
    public void Merged_away_profiles_keep_no_content_and_redirect()
    {
        var state = StateIn(ProfileStatus.MergedAway);
        Assert.Equal((2L, ProfileStatus.MergedAway, (ProfileId?)Older), (state.Version, state.Status, state.MergedInto));
        Assert.True(state.Content.IsEmpty);
        var merged = Assert.IsType<ProfileMergedAway>(Assert.Single(ProfileDecider.Decide(StateIn(ProfileStatus.Live), CommandFor("retire")).Events));
        Assert.Equal((Older, "m1", T0.AddHours(1)), (merged.Survivor, merged.ObservationId, merged.OccurredAt));
    }

    [Fact]
    public void Erased_profiles_keep_nothing()
    {
        var erased = Assert.IsType<ProfileErased>(Assert.Single(ProfileDecider.Decide(StateIn(ProfileStatus.Live), CommandFor("erase")).Events));
        Assert.Equal(("r1", T0.AddHours(1)), (erased.RequestId, erased.OccurredAt));
        var state = StateIn(ProfileStatus.Erased);
        Assert.Equal((2L, ProfileStatus.Erased, (ProfileId?)null), (state.Version, state.Status, state.MergedInto));
        Assert.True(state.Content.IsEmpty);
    }

    [Fact]
    public void Replay_counts_every_event_as_one_version()
    {
        IProfileEvent[] events =
        [
            Created(),
            new ObservationApplied("o2", T0, ProfileContent.Empty),
            new ProfileAbsorbed(Newer, "m2", T0, NewerContent),
            new ProfileMergedAway(Older, "m1", T0),
        ];
        for (var n = 0; n <= events.Length; n++)
        {
            Assert.Equal(n, ProfileDecider.Replay(events.Take(n)).Version);
        }

        Assert.Equal(ProfileState.Empty, ProfileDecider.Replay([]));
    }

    [Fact]
    public void Unknown_commands_and_events_are_refused()
    {
        Assert.Throws<ArgumentException>(() => ProfileDecider.Decide(ProfileState.Empty, new UnknownCommand()));
        Assert.Throws<ArgumentException>(() => ProfileDecider.Apply(ProfileState.Empty, new UnknownEvent()));
    }

    private sealed record UnknownCommand : IProfileCommand;

    private sealed record UnknownEvent : IProfileEvent;
}
