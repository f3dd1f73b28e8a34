using System.Text;
using Confluent.Kafka;
using IdentityGraph.Core.Identifiers;
using IdentityGraph.Kafka.Ingestion;
using IdentityGraph.Server.Tests.Support;
using Xunit.Abstractions;

namespace IdentityGraph.Server.Tests;

/// <summary>
/// The whole job, out of process: <c>identitygraph kafka</c> and <c>identitygraph serve</c> run as processes, kcat
/// produces JSON observations, and the downstream view rebuilt from <c>identity.profile-events</c> must equal the Core
/// reference partition — also with poison input in the stream and after a <c>kill -9</c> of <c>serve</c>.
/// </summary>
public sealed class KafkaEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Settle = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Observations_from_kcat_become_profile_events_that_equal_the_reference_partition_and_the_graph()
    {
        await using var rig = await KafkaRig.StartBrokerAsync(partitions: 4);
        await rig.StartServeAsync();
        var input = Path.Combine(rig.Directory, "observations.jsonl");
        var lines = new ObservationGenerator(seed: 41, customers: 400, householdLinkRate: 0.08).JsonLines(1500).ToList();
        await File.WriteAllLinesAsync(input, lines);

        // Half with the content-type header, half relying on the '{' sniffing.
        await Kcat.ProduceLinesAsync(rig.BootstrapServers, Kafka.Topics.Observations, lines.Take(750), "content-type=application/json");
        await Kcat.ProduceLinesAsync(rig.BootstrapServers, Kafka.Topics.Observations, lines.Skip(750));

        var expected = PartitionFiles.Reference(input);
        var view = await rig.WaitForViewAsync(expected, Settle);
        Assert.True(expected.SequenceEqual(view), $"view has {view.Count} profiles, reference {expected.Count}\n{rig.Log}");

        // Graceful stop, then the graph itself (export) must say the same as the downstream view.
        Assert.Equal(0, await rig.StopServeAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(expected, await rig.ExportAsync());

        var snapshots = rig.ReadAll(Kafka.Topics.Profiles);
        var latest = snapshots.GroupBy(r => r.Message.Key).Select(g => g.Last()).ToList();
        Assert.Equal(expected.Count, latest.Count(r => r.Message.Value is not null));
        Assert.All(latest.Where(r => r.Message.Value is null), r => Assert.NotNull(r.Message.Key));
    }

    [Fact]
    public async Task Poison_records_land_in_the_dead_letter_topic_with_their_code_and_no_card_number_while_valid_traffic_flows()
    {
        await using var rig = await KafkaRig.StartBrokerAsync(partitions: 2);
        await rig.StartServeAsync();
        var now = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var poison = new Dictionary<string, byte[]>
        {
            ["observation.unparseable"] = RandomBytes(),
            ["observation.invalid_json"] = Encoding.UTF8.GetBytes("{\"observationId\": \"t1\", \"identifiers\": [{\"type\": \"EMAIL\""),
            ["observation.missing_id"] = Json($$"""{"observedAt": "{{now}}", "identifiers": [{"type": "EMAIL", "value": "no-id@shop.example"}]}"""),
            ["observation.no_identifiers"] = Json($$"""{"observationId": "p-none", "observedAt": "{{now}}"}"""),
            ["observation.no_valid_identifier"] = Json($$"""{"observationId": "p-invalid", "observedAt": "{{now}}", "identifiers": [{"type": "EMAIL", "value": "not an address"}, {"type": "PHONE", "value": "12"}]}"""),
            ["payment_token.raw_pan"] = Json($$"""{"observationId": "p-pan", "observedAt": "{{now}}", "identifiers": [{"type": "PAYMENT_TOKEN", "value": "4111 1111 1111 1111", "namespace": "adyen"}]}"""),
            ["observation.too_many_identifiers"] = Json(
                "{\"observationId\": \"p-many\", \"observedAt\": \"" + now + "\", \"identifiers\": [" +
                string.Join(",", Enumerable.Range(0, 10_000).Select(i => "{\"type\": \"CUSTOMER_ID\", \"value\": \"c" + i + "\"}")) + "]}"),
            ["observation.too_large"] = Json(
                "{\"observationId\": \"p-large\", \"observedAt\": \"" + now + "\", \"identifiers\": [{\"type\": \"EMAIL\", \"value\": \"big@shop.example\"}], " +
                "\"attributes\": {\"blob\": \"" + new string('x', 2 * 1024 * 1024) + "\"}}"),
        };
        var files = new List<string>();
        foreach (var (code, value) in poison)
        {
            var file = Path.Combine(rig.Directory, code + ".bin");
            await File.WriteAllBytesAsync(file, value);
            files.Add(file);
        }

        var valid = new ObservationGenerator(seed: 7, customers: 50).JsonLines(200).ToList();
        var input = Path.Combine(rig.Directory, "valid.jsonl");
        await File.WriteAllLinesAsync(input, valid);
        await Kcat.ProduceLinesAsync(rig.BootstrapServers, Kafka.Topics.Observations, valid.Take(100));
        await Kcat.ProduceFilesAsync(rig.BootstrapServers, Kafka.Topics.Observations, files);
        await Kcat.ProduceLinesAsync(rig.BootstrapServers, Kafka.Topics.Observations, valid.Skip(100));

        var expected = PartitionFiles.Reference(input);
        var view = await rig.WaitForViewAsync(expected, Settle);
        Assert.True(expected.SequenceEqual(view), $"valid traffic did not flow: view {view.Count} profiles, reference {expected.Count}\n{rig.Log}");

        var deadLetters = rig.ReadAll(Kafka.Topics.DeadLetters);
        Assert.Equal(poison.Count, deadLetters.Count);
        foreach (var (code, value) in poison)
        {
            // Byte for byte, except that a card number is masked in place (same length, last four digits kept).
            var kept = CardNumberRedaction.Redact(value)!;
            var letter = Assert.Single(deadLetters, d => kept.AsSpan().SequenceEqual(d.Message.Value));
            Assert.Equal(value.Length, letter.Message.Value?.Length);
            var headers = letter.Message.Headers.ToDictionary(h => h.Key, h => Encoding.UTF8.GetString(h.GetValueBytes()));
            var expectedCode = code == "payment_token.raw_pan" ? "observation.no_valid_identifier" : code;
            Assert.Equal(expectedCode, headers[DeadLetterHeaders.ErrorCode]);
            Assert.Contains(code == "payment_token.raw_pan" ? code : "", headers[DeadLetterHeaders.ErrorMessage], StringComparison.Ordinal);
            Assert.Equal(Kafka.Topics.Observations, headers[DeadLetterHeaders.SourceTopic]);
            Assert.True(long.Parse(headers[DeadLetterHeaders.SourceOffset], System.Globalization.CultureInfo.InvariantCulture) >= 0);
            Assert.True(int.Parse(headers[DeadLetterHeaders.SourcePartition], System.Globalization.CultureInfo.InvariantCulture) >= 0);
            Assert.True(DateTimeOffset.TryParse(headers[DeadLetterHeaders.DeadLetteredAt], System.Globalization.CultureInfo.InvariantCulture, out _));
            // No card number anywhere: not in the reason, not in the kept record.
            Assert.DoesNotContain("4111", headers[DeadLetterHeaders.ErrorMessage], StringComparison.Ordinal);
            Assert.DoesNotContain("4111 1111 1111", Encoding.UTF8.GetString(letter.Message.Value ?? []), StringComparison.Ordinal);
        }

        Assert.False(rig.Serve!.HasExited);
    }

    [Fact]
    public async Task Serve_killed_with_sigkill_mid_stream_and_restarted_loses_nothing()
    {
        await using var rig = await KafkaRig.StartBrokerAsync(partitions: 4);
        await rig.StartServeAsync();
        var input = Path.Combine(rig.Directory, "observations.jsonl");
        var lines = new ObservationGenerator(seed: 99, customers: 800, householdLinkRate: 0.08).JsonLines(3000).ToList();
        await File.WriteAllLinesAsync(input, lines);
        await Kcat.ProduceLinesAsync(rig.BootstrapServers, Kafka.Topics.Observations, lines);

        // Kill once some, but not all, of the stream is published.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        int published;
        do
        {
            await Task.Delay(300);
            published = rig.ReadAll(Kafka.Topics.ProfileEvents).Count;
        }
        while (published < 200 && DateTime.UtcNow < deadline);
        await rig.KillServeAsync();
        output.WriteLine($"killed serve after {published} profile events");

        await rig.StartServeAsync();
        var expected = PartitionFiles.Reference(input);
        var view = await rig.WaitForViewAsync(expected, Settle);
        Assert.True(expected.SequenceEqual(view), $"view has {view.Count} profiles, reference {expected.Count}\n{rig.Log}");

        Assert.Equal(0, await rig.StopServeAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(expected, await rig.ExportAsync());
    }

    private static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] RandomBytes()
    {
        // Not valid protobuf: starts with a field header of wire type 7, which does not exist.
        var bytes = new byte[512];
        new Random(3).NextBytes(bytes);
        bytes[0] = 0x0F;
        return bytes;
    }
}
