using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using static IdentityGraph.Core.Tests.Profiles.ProfileGenerators;

namespace IdentityGraph.Core.Tests.Profiles;

/// <summary>The batch decision and its repeat-visit shortcut against the one-observation-at-a-time decider.</summary>
public sealed class DecideBatchPropertyTests
{
    private static Gen<ProfileLimits> Limits { get; } =
        Gen.Frequency((3, Gen.Constant(ProfileLimits.Default)), (1, Gen.Choose(1, 3).Select(n => new ProfileLimits { MaxAttributes = n })));

    /// <summary>Observations already held (some with other times or channels), and new ones.</summary>
    private static Arbitrary<(NormalizedObservation[] Held, NormalizedObservation[] Batch, ProfileLimits Limits)> HeldAndBatch { get; } =
        (from held in ObservationList("h", 0, 6)
         from fresh in ObservationList("n", 0, 4)
         from repeats in Gen.SubListOf(held)
         from shifted in Gen.ArrayOf(Time, repeats.Count)
         from channels in Gen.ArrayOf(Gen.Elements(Channels), repeats.Count)
         from keep in Gen.ArrayOf(Gen.Elements(true, false), repeats.Count)
         let again = repeats.Select((o, i) => keep[i] ? o : o with { ObservedAt = shifted[i], Channel = channels[i] })
         from batch in Gen.Shuffle(again.Concat(fresh))
         from limits in Limits
         select (held, batch.ToArray(), limits)).ToArbitrary();

    [Property(MaxTest = 500)]
    public Property A_batch_decides_as_its_observations_one_by_one() =>
        Prop.ForAll(HeldAndBatch, t =>
        {
            var start = t.Held.Aggregate(ProfileState.Empty, (s, o) => Step(s, o, t.Limits).State);

            var (result, changed) = ProfileDecider.DecideBatch(start, t.Batch, t.Limits);

            var expected = start;
            var dropped = 0;
            for (var i = 0; i < t.Batch.Length; i++)
            {
                var (next, events, d) = Step(expected, t.Batch[i], t.Limits);
                Assert.Equal(events > 0, changed[i]);
                dropped += d;
                expected = next;
            }

            Assert.Null(result.Rejection);
            Assert.Equal(dropped, result.AttributesDropped);
            Assert.Equal(changed.Any(c => c) ? 1 : 0, result.Events.Count);
            var after = result.Events.Aggregate(start, ProfileDecider.Apply);
            Assert.Equal(expected.Status, after.Status);
            AssertSameContent(expected.Content, after.Content);
            if (result.After is { } computed)
            {
                Assert.Equal(after.Version, computed.Version);
                Assert.Equal(after.Status, computed.Status);
                AssertSameContent(after.Content, computed.Content);
            }
        });

    [Property(MaxTest = 1000)]
    public Property The_repeat_visit_shortcut_is_only_taken_where_the_delta_is_empty() =>
        Prop.ForAll(HeldAndBatch, t =>
        {
            var content = Fold(t.Held).WithAttributesBoundedTo(t.Limits.MaxAttributes);
            foreach (var observation in t.Batch)
            {
                var delta = content.Delta(ProfileContent.FromObservation(observation), t.Limits, out var dropped);
                if (content.SurelyAddsNothing(observation, t.Limits))
                {
                    Assert.True(delta.IsEmpty);
                    Assert.Equal(0, dropped);
                }
            }

            // And it is taken for every observation the content was built from, unchanged (default limits).
            var held = Fold(t.Held);
            Assert.All(t.Held, o => Assert.True(held.SurelyAddsNothing(o, ProfileLimits.Default)));
        });

    private static (ProfileState State, int Events, int Dropped) Step(ProfileState state, NormalizedObservation observation, ProfileLimits limits)
    {
        var result = ProfileDecider.Decide(state, new ObserveProfile(observation), limits);
        Assert.Null(result.Rejection);
        return (result.Events.Aggregate(state, ProfileDecider.Apply), result.Events.Count, result.AttributesDropped);
    }
}
