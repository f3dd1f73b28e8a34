using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Core.Tests.Profiles;

public sealed class ProfileIdTests
{
    private static readonly DateTimeOffset T = new(2025, 3, 1, 12, 0, 0, 123, TimeSpan.Zero);

    [Fact]
    public void For_is_deterministic()
    {
        Assert.Equal(ProfileId.For("obs-1", T), ProfileId.For("obs-1", T));
        Assert.Equal(ProfileId.For("obs-1", T).Value, ProfileId.For("obs-1", T.ToOffset(TimeSpan.FromHours(2))).Value);
        Assert.NotEqual(ProfileId.For("obs-1", T), ProfileId.For("obs-2", T));
        Assert.NotEqual(ProfileId.For("obs-1", T), ProfileId.For("obs-1", T.AddMilliseconds(1)));
    }

    [Fact]
    public void For_gives_a_canonical_ulid()
    {
        var id = ProfileId.For("obs-1", T);
        Assert.Equal(26, id.Value.Length);
        Assert.All(id.Value, c => Assert.Contains(c, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"));
        Assert.True(id.Value[0] <= '7');
        Assert.Equal(id.Value, id.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(86_400_000)]
    public void An_older_observation_gives_a_smaller_id(int laterByMilliseconds)
    {
        for (var i = 0; i < 50; i++)
        {
            var older = ProfileId.For($"z-{i}", T);
            var newer = ProfileId.For($"a-{i}", T.AddMilliseconds(laterByMilliseconds));
            Assert.True(older < newer);
            Assert.True(older <= newer);
            Assert.True(newer > older);
            Assert.True(newer >= older);
            Assert.True(older.CompareTo(newer) < 0);
            Assert.True(string.CompareOrdinal(older.Value, newer.Value) < 0);
        }
    }

    [Theory]
    [InlineData("1970-01-01T00:00:00.000Z")]
    [InlineData("2025-03-01T12:00:00.123Z")]
    [InlineData("2099-12-31T23:59:59.999Z")]
    public void Timestamp_round_trips_in_milliseconds(string at)
    {
        var time = DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(time, ProfileId.For("obs", time).Timestamp);
    }

    [Fact]
    public void Timestamp_drops_sub_millisecond_precision_and_offset()
    {
        var time = T.AddTicks(5_000).ToOffset(TimeSpan.FromHours(-5));
        Assert.Equal(T, ProfileId.For("obs", time).Timestamp);
        Assert.Equal(TimeSpan.Zero, ProfileId.For("obs", time).Timestamp.Offset);
    }

    [Fact]
    public void Times_before_1970_clamp_to_the_epoch()
    {
        Assert.Equal(DateTimeOffset.UnixEpoch, ProfileId.For("obs", new DateTimeOffset(1960, 1, 1, 0, 0, 0, TimeSpan.Zero)).Timestamp);
    }

    [Fact]
    public void Parse_round_trips_and_accepts_lower_case()
    {
        var id = ProfileId.For("obs-1", T);
        Assert.Equal(id, ProfileId.Parse(id.Value));
        Assert.Equal(id, ProfileId.Parse(id.Value.ToLowerInvariant()));
        Assert.True(ProfileId.TryParse(id.Value.ToLowerInvariant(), out var parsed));
        Assert.Equal(id.Value, parsed.Value);
        Assert.Equal(T, parsed.Timestamp);
    }

    [Theory]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FAV")]
    [InlineData("01arz3ndektsv4rrffq69g5fav")]
    [InlineData("00000000000000000000000000")]
    [InlineData("7ZZZZZZZZZZZZZZZZZZZZZZZZZ")]
    public void Valid_ulids_parse_to_upper_case(string text)
    {
        Assert.True(ProfileId.TryParse(text, out var id));
        Assert.Equal(text.ToUpperInvariant(), id.Value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FA")]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FAVX")]
    [InlineData("81ARZ3NDEKTSV4RRFFQ69G5FAV")]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FAI")]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FAL")]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FAO")]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FAU")]
    [InlineData("01arz3ndektsv4rrffq69g5fai")]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FA-")]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FA ")]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FAſ")]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FAÅ")]
    public void Invalid_ids_are_rejected(string? text)
    {
        Assert.False(ProfileId.TryParse(text, out var id));
        Assert.Equal(default, id);
        if (text is not null)
        {
            Assert.Throws<FormatException>(() => ProfileId.Parse(text));
        }
    }
}
