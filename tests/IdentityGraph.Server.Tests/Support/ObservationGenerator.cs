using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Contracts.V1;

namespace IdentityGraph.Server.Tests.Support;

/// <summary>
/// Deterministic synthetic observations: a population of customers, each with an e-mail address, a phone number and a
/// membership card, seen through random subsets of them; a share of observations also carries an identifier of the
/// "next" customer (a household), which links customers into chains and forces merges. Also used by the import
/// benchmark (linked into benchmarks/), so its output is the documented load shape.
/// </summary>
public sealed class ObservationGenerator(int seed, int customers, double householdLinkRate = 0.05, double malformedRate = 0)
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Channel[] Channels = [Channel.Web, Channel.App, Channel.Store, Channel.CallCenter];

    private readonly Random random = new(seed);

    /// <summary>The <paramref name="count"/> observations, as proto3 JSON lines (the import and Kafka JSON format).</summary>
    public IEnumerable<string> JsonLines(int count)
    {
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default);
        for (var i = 0; i < count; i++)
        {
            var observation = Next(i);
            if (malformedRate > 0 && random.NextDouble() < malformedRate)
            {
                yield return random.Next(3) switch
                {
                    0 => "{\"observationId\": \"broken-" + i + "\", \"identifiers\": [",
                    1 => formatter.Format(new Observation(observation) { ObservationId = "" }),
                    _ => formatter.Format(WithoutIdentifiers(observation)),
                };
                continue;
            }

            yield return formatter.Format(observation);
        }
    }

    /// <summary>Writes <paramref name="count"/> observations to <paramref name="path"/>.</summary>
    public void WriteFile(string path, int count) => File.WriteAllLines(path, JsonLines(count));

    private Observation Next(int index)
    {
        var customer = random.Next(customers);
        var observation = new Observation
        {
            ObservationId = $"gen-{seed}-{index}",
            Source = "generator",
            Channel = Channels[random.Next(Channels.Length)],
            ObservedAt = Timestamp.FromDateTimeOffset(Start.AddSeconds(index)),
        };

        var identifiers = IdentifiersOf(customer);
        var take = 1 + random.Next(identifiers.Length);
        foreach (var identifier in identifiers.OrderBy(_ => random.Next()).Take(take))
        {
            observation.Identifiers.Add(identifier);
        }

        if (random.NextDouble() < householdLinkRate)
        {
            var neighbour = IdentifiersOf((customer + 1) % customers);
            observation.Identifiers.Add(neighbour[random.Next(neighbour.Length)]);
        }

        observation.Attributes["first_name"] = $"Name{customer % 997}";
        if (random.Next(4) == 0)
        {
            observation.Consents.Add(new Consent
            {
                Purpose = "marketing",
                Channel = ContactChannel.Email,
                Status = random.Next(2) == 0 ? ConsentStatus.Granted : ConsentStatus.Denied,
                DecidedAt = observation.ObservedAt,
            });
        }

        return observation;
    }

    private static Observation WithoutIdentifiers(Observation observation)
    {
        var copy = observation.Clone();
        copy.Identifiers.Clear();
        return copy;
    }

    // Written in the untidy ways channel systems send them, so the import exercises normalisation too.
    private static Identifier[] IdentifiersOf(int customer) =>
    [
        new() { Type = IdentifierType.Email, Value = $"Customer.{customer}@Shop{customer % 7}.example.com " },
        new() { Type = IdentifierType.Phone, Value = $"+45 {20_000_000 + customer}" },
        new() { Type = IdentifierType.MembershipCard, Namespace = "club", Value = $"m-{customer:D9}" },
    ];
}
