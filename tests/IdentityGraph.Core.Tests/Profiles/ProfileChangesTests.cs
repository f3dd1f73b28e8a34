using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using static IdentityGraph.Core.Tests.Profiles.ProfileGenerators;

namespace IdentityGraph.Core.Tests.Profiles;

public sealed class ProfileChangesTests
{
    private static readonly ProfileId Id = ProfileId.For("o1", T0);

    private static (ProfileState Before, IProfileEvent Change, ProfileState After) Step(ProfileState before, IProfileCommand command)
    {
        var decided = ProfileDecider.Decide(before, command);
        Assert.Null(decided.Rejection);
        var change = Assert.Single(decided.Events);
        return (before, change, ProfileDecider.Apply(before, change));
    }

    [Fact]
    public void Created_carries_the_new_profile_and_its_cause()
    {
        var (before, change, after) = Step(ProfileState.Empty, new ObserveProfile(Observation("o1", T0, [1, 2])));

        var published = ProfileChanges.ToContract(Id, before, change, after);

        Assert.Equal(ProfileEvent.ChangeOneofCase.Created, published.ChangeCase);
        Assert.Equal((Id.Value, 1L, "o1"), (published.ProfileId, published.Version, published.ObservationId));
        Assert.Equal(Timestamp.FromDateTimeOffset(T0), published.OccurredAt);
        Assert.Equal(ProfileSnapshots.ToContract(Id, after), published.Profile);
        Assert.Equal("", published.MergedInto);
        Assert.False(ProfileChanges.EndsProfile(change));
    }

    [Fact]
    public void Updated_lists_only_what_changed()
    {
        var created = Step(ProfileState.Empty, new ObserveProfile(Observation(
            "o1", T0, [1], [new ConsentChoice("marketing", ContactChannel.Email, ConsentStatus.Granted, T0)],
            new Dictionary<string, string> { ["city"] = "Aarhus", ["name"] = "Ann" }))).After;
        var (before, change, after) = Step(created, new ObserveProfile(Observation(
            "o2", T0.AddHours(1), [1, 2], [new ConsentChoice("marketing", ContactChannel.Email, ConsentStatus.Denied, T0.AddHours(1))],
            new Dictionary<string, string> { ["city"] = "Odense", ["name"] = "Ann" })));

        var published = ProfileChanges.ToContract(Id, before, change, after);

        Assert.Equal(ProfileEvent.ChangeOneofCase.Updated, published.ChangeCase);
        Assert.Equal(2, published.Version);
        Assert.Equal("o2", published.ObservationId);
        var linked = Assert.Single(published.Updated.IdentifiersLinked);
        Assert.Equal(after.Content.Identifiers[Identifier(2).Key].Identifier.Value, linked.Value);
        var consent = Assert.Single(published.Updated.ConsentsChanged);
        Assert.Equal(ConsentStatus.Denied, consent.Status);
        Assert.Equal(["city"], published.Updated.AttributesChanged);
        Assert.Equal(2, published.Profile.Identifiers.Count);
    }

    [Fact]
    public void Merge_names_the_absorbed_profile_and_merged_away_names_the_survivor_without_a_snapshot()
    {
        var survivor = Step(ProfileState.Empty, new ObserveProfile(Observation("o1", T0, [1]))).After;
        var absorbedId = ProfileId.For("o9", T0.AddDays(1));
        var absorbedContent = ProfileContent.FromObservation(Observation("o9", T0.AddDays(1), [2]));
        var (before, change, after) = Step(survivor, new AbsorbProfile(Id, absorbedId, absorbedContent, "o10", T0.AddDays(2)));

        var merged = ProfileChanges.ToContract(Id, before, change, after);

        Assert.Equal(ProfileEvent.ChangeOneofCase.Merged, merged.ChangeCase);
        Assert.Equal([absorbedId.Value], merged.Merged.AbsorbedProfileIds);
        Assert.Equal([absorbedId.Value], merged.Profile.MergedProfileIds);

        var live = Step(ProfileState.Empty, new ObserveProfile(Observation("o9", T0.AddDays(1), [2]))).After;
        var retired = Step(live, new RetireIntoSurvivor(absorbedId, Id, "o10", T0.AddDays(2)));
        var away = ProfileChanges.ToContract(absorbedId, retired.Before, retired.Change, retired.After);

        Assert.Equal(ProfileEvent.ChangeOneofCase.MergedAway, away.ChangeCase);
        Assert.Equal(Id.Value, away.MergedInto);
        Assert.Null(away.Profile);
        Assert.Equal(2, away.Version);
        Assert.True(ProfileChanges.EndsProfile(retired.Change));
    }

    [Fact]
    public void Erased_has_no_snapshot_and_names_the_request()
    {
        var live = Step(ProfileState.Empty, new ObserveProfile(Observation("o1", T0, [1]))).After;
        var (before, change, after) = Step(live, new EraseProfile("request-7", T0.AddDays(3)));

        var published = ProfileChanges.ToContract(Id, before, change, after);

        Assert.Equal(ProfileEvent.ChangeOneofCase.Erased, published.ChangeCase);
        Assert.Equal("request-7", published.ObservationId);
        Assert.Null(published.Profile);
        Assert.True(ProfileChanges.EndsProfile(change));
    }
}
