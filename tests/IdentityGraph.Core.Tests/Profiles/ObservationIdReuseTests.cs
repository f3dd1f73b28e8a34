using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;
using IdentityGraph.Core.Resolution;
using static IdentityGraph.Core.Tests.Profiles.ProfileGenerators;

namespace IdentityGraph.Core.Tests.Profiles;

/// <summary>
/// A producer may reuse an observation id (and event time) for other content. Nothing may then depend on the id
/// alone: no shared new profile id (it would link strangers), no "already seen" skipping, no arrival-order tie.
/// </summary>
public sealed class ObservationIdReuseTests
{
    [Fact]
    public void A_reused_id_with_other_identifiers_gives_another_profile_id_in_either_order()
    {
        var a = Observation("dup", T0, [1, 2]);
        var b = Observation("dup", T0, [3]);
        Assert.NotEqual(ProfileId.For(a), ProfileId.For(b));
        Assert.Equal(ProfileId.For(a).Timestamp, ProfileId.For(b).Timestamp);

        // The reference union-find: two components, whatever the order.
        foreach (var order in new[] { new[] { a, b }, [b, a] })
        {
            var reference = new ReferenceResolver();
            foreach (var observation in order)
            {
                reference.Add(observation);
            }

            Assert.Equal(2, reference.Partition().Count);
        }
    }

    [Fact]
    public void A_replay_gives_the_same_profile_id_whatever_the_rest_of_the_content()
    {
        var original = Observation("o1", T0, [1, 2, 3]);
        Assert.Equal(ProfileId.For(original), ProfileId.For(original with { Identifiers = [.. original.Identifiers.Reverse()] }));
        Assert.Equal(ProfileId.For(original), ProfileId.For(original with
        {
            Source = "pos",
            Channel = Channel.Store,
            Attributes = new Dictionary<string, string> { ["tier"] = "gold" },
            Consents = [new ConsentChoice("marketing", ContactChannel.Email, ConsentStatus.Granted, T0)],
        }));
        Assert.NotEqual(ProfileId.For(original), ProfileId.For(Observation("o1", T0, [1, 2])));
        Assert.NotEqual(ProfileId.For(original), ProfileId.For(Observation("o2", T0, [1, 2, 3])));
        Assert.NotEqual(ProfileId.For(original), ProfileId.For(Observation("o1", T0.AddMilliseconds(1), [1, 2, 3])));
    }

    [Fact]
    public void The_second_observation_under_a_reused_id_is_not_skipped_as_already_seen()
    {
        var first = Observation("dup", T0, [1], attributes: new Dictionary<string, string> { ["city"] = "Aarhus" });
        var second = Observation("dup", T0, [1, 2], attributes: new Dictionary<string, string> { ["tier"] = "gold" });
        foreach (var (x, y) in new[] { (first, second), (second, first) })
        {
            var state = Run(Run(ProfileState.Empty, new ObserveProfile(x)), new ObserveProfile(y));
            Assert.Equal(["k1", "k2"], state.Content.Identifiers.Keys.Select(k => k.Value));
            Assert.Equal(["city", "tier"], state.Content.Attributes.Keys);
        }
    }

    [Fact]
    public void Evidence_of_a_reused_id_with_the_same_identifiers_does_not_depend_on_arrival_order()
    {
        var web = From(Observation("dup", T0, [1, 2], channel: Channel.Web, source: "webshop"));
        var store = From(Observation("dup", T0, [1, 2], channel: Channel.Store, source: "pos"));
        AssertSameContent(web.Join(store), store.Join(web));
        Assert.Equal("pos", web.Join(store).Evidence.Values.Single().Source);
    }

    /// <summary>The semilattice laws hold when ids are reused: ids from a pool of three, times from a pool of three (two UTC days).</summary>
    [Property(MaxTest = 300)]
    public Property Observations_that_reuse_ids_give_the_same_content_in_any_order() =>
        Prop.ForAll(
            (from count in Gen.Choose(1, 10)
             from observations in Gen.ArrayOf(Observation(poolSize: 6, maxIdentifiers: 3), count)
             from ids in Gen.ArrayOf(Gen.Elements("r0", "r1", "r2"), count)
             from times in Gen.ArrayOf(Gen.Elements(T0, T0.AddMinutes(1), T0.AddHours(12)), count)
             let reused = observations.Select((o, i) => o with { ObservationId = ids[i], ObservedAt = times[i] }).ToArray()
             from shuffled in Gen.Shuffle(reused)
             select (reused, shuffled)).ToArbitrary(),
            t =>
            {
                AssertSameContent(Fold(t.reused), Fold(t.shuffled));
                var decided = t.shuffled.Aggregate(ProfileState.Empty, (s, o) => Run(s, new ObserveProfile(o)));
                AssertSameContent(Fold(t.reused), decided.Content);
            });

    private static ProfileContent From(NormalizedObservation observation) => ProfileContent.FromObservation(observation);
}
