using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Contracts.V1;

namespace IdentityGraph.Server.Demo;

/// <summary>
/// A seeded omnichannel sample for <c>identitygraph demo</c>: customers with an e-mail address, a phone number and often
/// a membership card, an app install and a payment token, seen through the web shop, the app, the stores and the call
/// centre; some come back often (Zipf), a few families share a phone, call-centre agents sometimes type
/// <c>noreply@…</c>, and a small share of records is malformed. Values are written untidily, as channel systems do.
/// </summary>
public sealed class DemoData(int seed, int customers)
{
    private static readonly string[] FirstNames =
        ["Anna", "Mads", "Sofie", "Frederik", "Emma", "Lucas", "Ida", "Oliver", "Freja", "William", "Clara", "Noah", "Laura", "Elias", "Maja", "Victor"];

    private static readonly string[] LastNames =
        ["Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen", "Rasmussen", "Jørgensen", "Madsen", "Kristensen"];

    private static readonly string[] Domains = ["example.com", "mail.example", "post.example.dk", "webmail.example"];
    private static readonly string[] Stores = ["cph-01", "aar-02", "ode-03", "aal-04"];
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);

    private readonly Random random = new(seed);
    private readonly double[] cumulative = Zipf(customers, 0.9);

    /// <summary>Observations as proto3 JSON (short enum names, as a channel team would write them).</summary>
    public IEnumerable<string> Records(int count)
    {
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default);
        for (var i = 0; i < count; i++)
        {
            var roll = random.NextDouble();
            if (roll < 0.015)
            {
                yield return Malformed(i);
                continue;
            }

            yield return formatter.Format(Next(i, Customer(random.NextDouble())));
        }
    }

    private Observation Next(int sequence, int customer)
    {
        var channel = random.NextDouble() switch
        {
            < 0.35 => Channel.Web,
            < 0.60 => Channel.App,
            < 0.90 => Channel.Store,
            _ => Channel.CallCenter,
        };
        var observation = new Observation
        {
            ObservationId = string.Create(CultureInfo.InvariantCulture, $"demo-{sequence:D6}"),
            Channel = channel,
            ObservedAt = Timestamp.FromDateTimeOffset(Start.AddSeconds(sequence * 37)),
        };
        var (first, last) = Name(customer);
        switch (channel)
        {
            case Channel.Web:
                observation.Source = "webshop";
                Add(observation, IdentifierType.Email, Email(customer));
                if (Chance(0.3))
                {
                    Add(observation, IdentifierType.Phone, Phone(customer));
                }

                if (Chance(0.2))
                {
                    observation.Consents.Add(new Consent
                    {
                        Purpose = "newsletter",
                        Channel = ContactChannel.Email,
                        Status = Chance(0.8) ? ConsentStatus.Granted : ConsentStatus.Denied,
                    });
                }

                observation.Attributes["first_name"] = first;
                break;
            case Channel.App:
                observation.Source = "app";
                Add(observation, IdentifierType.DeviceId, Device(customer));
                Add(observation, IdentifierType.Email, Email(customer));
                observation.Attributes["last_name"] = last;
                break;
            case Channel.Store:
                observation.Source = "pos-" + Stores[customer % Stores.Length];
                if (HasCard(customer))
                {
                    Add(observation, IdentifierType.MembershipCard, Card(customer), "club");
                }

                if (HasCard(customer) is false || Chance(0.5))
                {
                    Add(observation, IdentifierType.PaymentToken, Token(customer), "psp");
                }

                if (Chance(0.25))
                {
                    Add(observation, IdentifierType.Phone, Phone(customer));
                }

                observation.Attributes["preferred_store"] = Stores[customer % Stores.Length];
                break;
            default:
                observation.Source = "call-centre";
                Add(observation, IdentifierType.Phone, Phone(customer));
                // Agents type a placeholder when the caller will not give an address: refused, never linked.
                Add(observation, IdentifierType.Email, Chance(0.2) ? "noreply@shop.example" : Email(customer));
                break;
        }

        return observation;
    }

    private string Malformed(int sequence) => random.Next(4) switch
    {
        0 => """{"observationId": "demo-broken", "identifiers": [{"type": "EMAIL", "va""",
        1 => """{"source": "webshop", "observedAt": "2026-11-01T10:00:00Z", "identifiers": [{"type": "EMAIL", "value": "someone@example.com"}]}""",
        2 => string.Create(CultureInfo.InvariantCulture, $$"""{"observationId": "demo-{{sequence:D6}}", "observedAt": "2026-11-01T10:00:00Z", "source": "pos-cph-01", "identifiers": [{"type": "PAYMENT_TOKEN", "value": "4111 1111 1111 1111", "namespace": "psp"}]}"""),
        _ => string.Create(CultureInfo.InvariantCulture, $$"""{"observationId": "demo-{{sequence:D6}}", "observedAt": "2026-11-01T10:00:00Z", "source": "app"}"""),
    };

    private static void Add(Observation observation, IdentifierType type, string value, string ns = "") =>
        observation.Identifiers.Add(new Identifier { Type = type, Value = value, Namespace = ns });

    private bool Chance(double p) => random.NextDouble() < p;

    private static (string First, string Last) Name(int customer) =>
        (FirstNames[customer % FirstNames.Length], LastNames[customer / FirstNames.Length % LastNames.Length]);

    private string Email(int customer)
    {
        var (first, last) = Name(customer);
        var address = string.Create(CultureInfo.InvariantCulture, $"{first}.{last}{customer}@{Domains[customer % Domains.Length]}");
        return random.Next(3) switch
        {
            0 => address.ToUpperInvariant(),
            1 => " " + address + " ",
            _ => address.ToLowerInvariant(),
        };
    }

    // Every 40th customer shares the family phone with the next one: a household, which links the two.
    private string Phone(int customer)
    {
        var owner = customer % 40 == 1 ? customer - 1 : customer;
        var number = 20_000_000 + (owner * 7919 % 70_000_000);
        var digits = number.ToString(CultureInfo.InvariantCulture);
        return random.Next(3) switch
        {
            0 => "+45 " + string.Join(' ', digits.Chunk(2).Select(c => new string(c))),
            1 => "0045" + digits,
            _ => digits,
        };
    }

    private static bool HasCard(int customer) => customer % 5 != 0;

    private static string Card(int customer) =>
        string.Create(CultureInfo.InvariantCulture, $"{1000 + (customer / 10_000):D4}-{customer % 10_000:D4}");

    private static string Device(int customer) =>
        string.Create(CultureInfo.InvariantCulture, $"app-{customer * 2654435761L % 4_294_967_296L:x8}");

    private static string Token(int customer) =>
        string.Create(CultureInfo.InvariantCulture, $"tok_{customer * 40503L % 1_000_003L:x6}{customer:x4}");

    private int Customer(double u)
    {
        var index = Array.BinarySearch(cumulative, u);
        return Math.Min(customers - 1, index >= 0 ? index : ~index);
    }

    private static double[] Zipf(int n, double exponent)
    {
        var weights = Enumerable.Range(1, n).Select(rank => 1 / Math.Pow(rank, exponent)).ToArray();
        var total = weights.Sum();
        var cumulative = new double[n];
        var running = 0.0;
        for (var i = 0; i < n; i++)
        {
            running += weights[i] / total;
            cumulative[i] = running;
        }

        return cumulative;
    }
}
