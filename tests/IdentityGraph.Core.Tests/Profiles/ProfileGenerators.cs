using FsCheck;
using FsCheck.Fluent;
using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Observations;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Core.Tests.Profiles;

/// <summary>
/// Generators and builders for profile tests. Key spaces, value pools and time ranges are small on purpose, so that
/// identifiers collide, consent and attribute slots are contested, and timestamps tie.
/// </summary>
internal static class ProfileGenerators
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static readonly string[] Purposes = ["marketing", "service"];

    public static readonly ContactChannel[] ContactChannels = [ContactChannel.Email, ContactChannel.Sms];

    public static readonly Channel[] Channels = [Channel.Web, Channel.Store, Channel.App];

    public static readonly string[] AttributeKeys = ["city", "name", "tier"];

    /// <summary>Identifier number <paramref name="i"/>: key "k{i}", a type chosen by i.</summary>
    public static KeyedIdentifier Identifier(int i) => new(
        new IdentifierKey($"k{i}"),
        (i % 3) switch
        {
            0 => new NormalizedIdentifier(IdentifierType.Email, "", $"u{i}@x.dk"),
            1 => new NormalizedIdentifier(IdentifierType.Phone, "", $"+452000{i:D4}"),
            _ => new NormalizedIdentifier(IdentifierType.MembershipCard, "club", $"CARD{i}"),
        });

    public static KeyedIdentifier[] Pool(int size) => [.. Enumerable.Range(0, size).Select(Identifier)];

    /// <summary>
    /// A time within a few minutes of <see cref="T0"/> (noon UTC), so that ties are common, or on either side of the next
    /// UTC midnight, so that UTC days differ (last_seen, updated_at and the consent and attribute winners are day-granular).
    /// </summary>
    public static Gen<DateTimeOffset> Time { get; } = Gen.Frequency(
        (3, Gen.Choose(0, 4).Select(m => T0.AddMinutes(m))),
        (1, Gen.Elements(T0.AddHours(12).AddMinutes(-1), T0.AddHours(12), T0.AddHours(12).AddMinutes(1), T0.AddDays(1))));

    /// <summary>Between <paramref name="min"/> and <paramref name="max"/> distinct identifiers out of a pool, ordered by key.</summary>
    public static Gen<KeyedIdentifier[]> Identifiers(int poolSize = 10, int min = 1, int max = 8) =>
        Gen.Choose(min, max).SelectMany(n => Gen.Shuffle(Pool(poolSize)).Select(s => s.Take(n).OrderBy(i => i.Key).ToArray()));

    public static Gen<ConsentChoice> Consent { get; } =
        from purpose in Gen.Elements(Purposes)
        from channel in Gen.Elements(ContactChannels)
        from status in Gen.Elements(ConsentStatus.Granted, ConsentStatus.Denied)
        from decidedAt in Time
        select new ConsentChoice(purpose, channel, status, decidedAt);

    public static Gen<Dictionary<string, string>> Attributes { get; } =
        Gen.ArrayOf(Gen.Elements<string?>(null, "a", "b", "c"), AttributeKeys.Length).Select(values =>
            AttributeKeys.Zip(values).Where(p => p.Second is not null).ToDictionary(p => p.First, p => p.Second!));

    /// <summary>An observation; its id is set by <see cref="ObservationList"/> so that ids are unique within a list.</summary>
    public static Gen<NormalizedObservation> Observation(int poolSize = 10, int minIdentifiers = 1, int maxIdentifiers = 8) =>
        from identifiers in Identifiers(poolSize, minIdentifiers, maxIdentifiers)
        from source in Gen.Elements("webshop", "pos")
        from channel in Gen.Elements(Channels)
        from observedAt in Time
        from consentCount in Gen.Choose(0, 3)
        from consents in Gen.ArrayOf(Consent, consentCount)
        from attributes in Attributes
        select new NormalizedObservation("", source, channel, observedAt, identifiers, consents, attributes, []);

    /// <summary>A list of observations with unique ids "{prefix}{index}" (ids are not in time order).</summary>
    public static Gen<NormalizedObservation[]> ObservationList(
        string prefix, int min = 0, int max = 6, int poolSize = 10, int minIdentifiers = 1, int maxIdentifiers = 8) =>
        Gen.Choose(min, max)
            .SelectMany(n => Gen.ArrayOf(Observation(poolSize, minIdentifiers, maxIdentifiers), n))
            .Select(list => list.Select((o, i) => o with { ObservationId = $"{prefix}{i:D3}" }).ToArray());

    public static readonly ProfileId[] ProfileIdPool =
        [.. Enumerable.Range(0, 6).Select(i => ProfileId.For($"merged-{i}", T0.AddDays(1).AddMinutes(i % 3)))];

    /// <summary>Content as a profile would hold it: the join of some observations, plus some merged profile ids.</summary>
    public static Gen<ProfileContent> Content(string prefix) =>
        from observations in ObservationList(prefix)
        from merged in Gen.SubListOf(ProfileIdPool)
        select Fold(observations).WithMergedProfileIds(merged);

    public static ProfileContent Fold(IEnumerable<NormalizedObservation> observations) =>
        observations.Aggregate(ProfileContent.Empty, (c, o) => c.Join(ProfileContent.FromObservation(o)));

    /// <summary>Decides a command and applies its events; fails on a rejection.</summary>
    public static ProfileState Run(ProfileState state, IProfileCommand command)
    {
        var result = ProfileDecider.Decide(state, command);
        Assert.Null(result.Rejection);
        Assert.True(result.Events.Count <= 1);
        return result.Events.Aggregate(state, ProfileDecider.Apply);
    }

    public static NormalizedObservation Observation(
        string id,
        DateTimeOffset observedAt,
        IEnumerable<int> identifiers,
        IEnumerable<ConsentChoice>? consents = null,
        IReadOnlyDictionary<string, string>? attributes = null,
        Channel channel = Channel.Web,
        string source = "webshop") =>
        new(id, source, channel, observedAt, [.. identifiers.Select(Identifier).OrderBy(i => i.Key)], [.. consents ?? []],
            attributes ?? new Dictionary<string, string>(), []);

    /// <summary>Asserts equality part by part (so a failure says which part) and then as a whole.</summary>
    public static void AssertSameContent(ProfileContent expected, ProfileContent actual)
    {
        Assert.Equal(expected.Identifiers.Keys, actual.Identifiers.Keys);
        Assert.Equal(expected.Identifiers.Values, actual.Identifiers.Values);
        Assert.Equal(expected.Evidence.Keys, actual.Evidence.Keys);
        Assert.Equal(expected.Evidence.Values, actual.Evidence.Values);
        Assert.Equal(expected.Consents.Values, actual.Consents.Values);
        Assert.Equal(expected.Attributes.Values, actual.Attributes.Values);
        Assert.Equal(expected.MergedProfileIds, actual.MergedProfileIds);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
        Assert.Equal(expected.UpdatedAt, actual.UpdatedAt);
        Assert.Equal(expected, actual);
        Assert.True(expected.Equals(actual));
    }
}
