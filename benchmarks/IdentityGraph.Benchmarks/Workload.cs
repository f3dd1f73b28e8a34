using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using IdentityGraph.Contracts.V1;

namespace IdentityGraph.Benchmarks;

/// <summary>
/// The parameters of <see cref="WorkloadGenerator"/>, each with its default; benchmarks/README.md documents them.
/// Command-line form: <c>--NAME VALUE</c> with the names of <see cref="Names"/>.
/// </summary>
public sealed record WorkloadOptions
{
    /// <summary>Random seed: the same options give the same stream, record for record.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Size of the customer population the observations are drawn from.</summary>
    public int Customers { get; init; } = 100_000;

    /// <summary>Zipf exponent of repeat visits: customer of rank r is observed with probability ∝ 1 / r^s (0 = uniform).</summary>
    public double ZipfExponent { get; init; } = 0.9;

    /// <summary>Share of customers that have an e-mail address, a phone, a membership card, a payment token (every customer has devices).</summary>
    public double EmailShare { get; init; } = 0.9;

    public double PhoneShare { get; init; } = 0.7;

    public double CardShare { get; init; } = 0.5;

    public double TokenShare { get; init; } = 0.5;

    /// <summary>Identifiers revealed at a customer's first observation (1 to this many).</summary>
    public int FirstVisitIdentifiers { get; init; } = 3;

    /// <summary>
    /// Of the observations of a customer seen before: the share that reveals one identifier not seen for the customer
    /// yet (together with a known one). The rest only repeat known identifiers (a graph no-op).
    /// </summary>
    public double NewInformationShare { get; init; } = 0.2;

    /// <summary>Probability that each further known identifier of the customer is carried too (at least one always is).</summary>
    public double CarryShare { get; init; } = 0.4;

    /// <summary>At most this many of the customer's known identifiers in one observation.</summary>
    public int MaxCarried { get; init; } = 4;

    /// <summary>Devices a customer can have; once all are known, a visit that would reveal one only repeats.</summary>
    public int MaxDevices { get; init; } = 8;

    /// <summary>Share of observations that also carry a known identifier of another, separately seen customer (forces a merge).</summary>
    public double MergeRate { get; init; } = 0.01;

    /// <summary>Share of customers living in a household whose members share one phone number.</summary>
    public double HouseholdShare { get; init; } = 0.1;

    /// <summary>Customers per household.</summary>
    public int HouseholdSize { get; init; } = 3;

    /// <summary>Share of observations carrying one junk identifier (noreply@…, one-digit phone, raw card number, bad e-mail): dropped with a code.</summary>
    public double JunkRate { get; init; } = 0.02;

    /// <summary>Share of records that are not valid observations (broken bytes or JSON, no id, no identifiers): dead-lettered.</summary>
    public double MalformedRate { get; init; } = 0.002;

    /// <summary>Share of records sent as proto3 JSON (content-type application/json) instead of protobuf binary.</summary>
    public double JsonShare { get; init; } = 0.1;

    /// <summary>Option name → setter, for the command line and the README.</summary>
    public static IReadOnlyDictionary<string, Func<WorkloadOptions, string, WorkloadOptions>> Names { get; } =
        new Dictionary<string, Func<WorkloadOptions, string, WorkloadOptions>>(StringComparer.Ordinal)
        {
            ["--seed"] = (o, v) => o with { Seed = Int(v) },
            ["--customers"] = (o, v) => o with { Customers = Int(v) },
            ["--zipf"] = (o, v) => o with { ZipfExponent = Number(v) },
            ["--email-share"] = (o, v) => o with { EmailShare = Number(v) },
            ["--phone-share"] = (o, v) => o with { PhoneShare = Number(v) },
            ["--card-share"] = (o, v) => o with { CardShare = Number(v) },
            ["--token-share"] = (o, v) => o with { TokenShare = Number(v) },
            ["--first-visit-identifiers"] = (o, v) => o with { FirstVisitIdentifiers = Int(v) },
            ["--new-share"] = (o, v) => o with { NewInformationShare = Number(v) },
            ["--carry-share"] = (o, v) => o with { CarryShare = Number(v) },
            ["--max-carried"] = (o, v) => o with { MaxCarried = Int(v) },
            ["--max-devices"] = (o, v) => o with { MaxDevices = Int(v) },
            ["--merge-rate"] = (o, v) => o with { MergeRate = Number(v) },
            ["--household-share"] = (o, v) => o with { HouseholdShare = Number(v) },
            ["--household-size"] = (o, v) => o with { HouseholdSize = Int(v) },
            ["--junk-rate"] = (o, v) => o with { JunkRate = Number(v) },
            ["--malformed-rate"] = (o, v) => o with { MalformedRate = Number(v) },
            ["--json-share"] = (o, v) => o with { JsonShare = Number(v) },
        };

    /// <summary>The defaults with every <c>--name value</c> of <see cref="Names"/> found in <paramref name="options"/> applied.</summary>
    public static WorkloadOptions From(IReadOnlyDictionary<string, string> options)
    {
        var result = new WorkloadOptions();
        foreach (var (name, set) in Names)
        {
            if (options.TryGetValue(name, out var value))
            {
                result = set(result, value);
            }
        }

        return result.Validate();
    }

    /// <summary>The options as command-line arguments (every one, so a log line reproduces the stream).</summary>
    public string ToArguments() => string.Create(CultureInfo.InvariantCulture,
        $"--seed {Seed} --customers {Customers} --zipf {ZipfExponent} --email-share {EmailShare} --phone-share {PhoneShare} " +
        $"--card-share {CardShare} --token-share {TokenShare} --first-visit-identifiers {FirstVisitIdentifiers} " +
        $"--new-share {NewInformationShare} --carry-share {CarryShare} --max-carried {MaxCarried} --max-devices {MaxDevices} --merge-rate {MergeRate} --household-share {HouseholdShare} " +
        $"--household-size {HouseholdSize} --junk-rate {JunkRate} --malformed-rate {MalformedRate} --json-share {JsonShare}");

    private WorkloadOptions Validate()
    {
        double[] shares = [EmailShare, PhoneShare, CardShare, TokenShare, NewInformationShare, CarryShare, MergeRate, HouseholdShare, JunkRate, MalformedRate, JsonShare];
        if (Customers < 1 || FirstVisitIdentifiers < 1 || MaxCarried < 1 || MaxDevices < 1 || HouseholdSize < 2 || ZipfExponent < 0 || shares.Any(s => s is < 0 or > 1))
        {
            throw new ArgumentException("Workload options out of range: customers ≥ 1, first-visit-identifiers ≥ 1, max-carried ≥ 1, max-devices ≥ 1, household-size ≥ 2, zipf ≥ 0, shares and rates in [0, 1].");
        }

        return this;
    }

    private static int Int(string value) => int.Parse(value, CultureInfo.InvariantCulture);

    private static double Number(string value) => double.Parse(value, CultureInfo.InvariantCulture);
}

/// <summary>What kind of record the generator made (counted in <see cref="WorkloadStatistics"/>).</summary>
public enum RecordKind
{
    /// <summary>A customer's first observation.</summary>
    FirstVisit,

    /// <summary>A known customer with an identifier not seen for them before.</summary>
    NewInformation,

    /// <summary>A known customer with known identifiers only.</summary>
    Repeat,

    /// <summary>Not a valid observation: goes to the dead-letter topic.</summary>
    Malformed,
}

/// <summary>One Kafka record of the stream.</summary>
/// <param name="Index">Position in the stream (0-based).</param>
/// <param name="ObservationId">The observation id, empty for records that have none.</param>
/// <param name="Json">True when <paramref name="Value"/> is proto3 JSON (send with content-type application/json).</param>
/// <param name="Merge">Also carries another customer's identifier.</param>
/// <param name="Junk">Carries a junk identifier that normalisation drops.</param>
public sealed record WorkloadRecord(long Index, string ObservationId, byte[] Value, bool Json, RecordKind Kind, bool Merge, bool Junk);

/// <summary>Counts of what a generated range holds.</summary>
public sealed class WorkloadStatistics
{
    public long Records { get; private set; }

    public long FirstVisits { get; private set; }

    public long NewInformation { get; private set; }

    public long Repeats { get; private set; }

    public long Malformed { get; private set; }

    public long Merges { get; private set; }

    public long Junk { get; private set; }

    public long JsonRecords { get; private set; }

    public void Add(WorkloadRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Records++;
        switch (record.Kind)
        {
            case RecordKind.FirstVisit: FirstVisits++; break;
            case RecordKind.NewInformation: NewInformation++; break;
            case RecordKind.Repeat: Repeats++; break;
            default: Malformed++; break;
        }

        Merges += record.Merge ? 1 : 0;
        Junk += record.Junk ? 1 : 0;
        JsonRecords += record.Json ? 1 : 0;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"records={Records} first_visits={FirstVisits} new_information={NewInformation} repeats={Repeats} merges={Merges} junk={Junk} malformed={Malformed} json={JsonRecords}");
}

/// <summary>
/// A seeded synthetic stream of observations for the load benchmark, shaped like an omnichannel retailer's:
/// a population of customers visiting with Zipf-distributed frequency, each known by a mix of e-mail, phone,
/// membership card, payment token and device ids that they reveal over time; a share of visits bringing new
/// information, a merge rate linking two separately known customers, households sharing one phone, junk identifiers,
/// and malformed records. Deterministic: record i is the same for the same options, whatever range is asked for,
/// so a run can be streamed in phases (the dev broker keeps only 5 MiB per partition) and checked against the
/// reference computed from the same records. (The older <c>ObservationGenerator</c>, shared with the tests, is
/// unchanged and still behind <c>generate</c>.)
/// </summary>
public sealed class WorkloadGenerator
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Channel[] Channels = [Channel.Web, Channel.Web, Channel.App, Channel.App, Channel.Store, Channel.Store, Channel.CallCenter, Channel.Email];
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default);

    private readonly WorkloadOptions options;
    private readonly double[] zipfCumulative;
    private readonly Random random;

    // Per customer (by index): which identifiers have been revealed so far, in order; null = never seen.
    private readonly List<Identifier>?[] revealed;
    private readonly int[] nextStatic;
    private readonly int[] devices;
    private readonly List<int> seen = [];
    private long index;

    public WorkloadGenerator(WorkloadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options;
        random = new Random(options.Seed);
        revealed = new List<Identifier>?[options.Customers];
        nextStatic = new int[options.Customers];
        devices = new int[options.Customers];
        zipfCumulative = new double[options.Customers];
        var total = 0.0;
        for (var r = 0; r < options.Customers; r++)
        {
            total += 1.0 / Math.Pow(r + 1, options.ZipfExponent);
            zipfCumulative[r] = total;
        }

        for (var r = 0; r < options.Customers; r++)
        {
            zipfCumulative[r] /= total;
        }
    }

    public WorkloadOptions Options => options;

    /// <summary>Records <paramref name="from"/> to <paramref name="from"/> + <paramref name="count"/> − 1 (a fresh generator each time).</summary>
    public static IEnumerable<WorkloadRecord> Range(WorkloadOptions options, long from, long count)
    {
        var generator = new WorkloadGenerator(options);
        for (var i = 0L; i < from; i++)
        {
            generator.Next(serialize: false);
        }

        for (var i = 0L; i < count; i++)
        {
            yield return generator.Next(serialize: true);
        }
    }

    /// <summary>The next record of the stream.</summary>
    public WorkloadRecord Next(bool serialize = true)
    {
        var i = index++;
        var observation = new Observation
        {
            ObservationId = string.Create(CultureInfo.InvariantCulture, $"wl-{options.Seed}-{i}"),
            Source = "workload",
            Channel = Channels[random.Next(Channels.Length)],
            ObservedAt = Timestamp.FromDateTimeOffset(Start.AddSeconds(i)),
        };

        var customer = Customer();
        var known = revealed[customer];
        RecordKind kind;
        if (known is null)
        {
            kind = RecordKind.FirstVisit;
            known = revealed[customer] = [];
            seen.Add(customer);
            var first = 1 + random.Next(options.FirstVisitIdentifiers);
            for (var k = 0; k < first && Reveal(customer) is { } identifier; k++)
            {
                known.Add(identifier);
                observation.Identifiers.Add(identifier);
            }
        }
        else
        {
            var anchor = known[random.Next(known.Count)];
            observation.Identifiers.Add(anchor);
            foreach (var other in known)
            {
                if (!ReferenceEquals(other, anchor) && random.NextDouble() < options.CarryShare && observation.Identifiers.Count < options.MaxCarried)
                {
                    observation.Identifiers.Add(other);
                }
            }

            if (random.NextDouble() < options.NewInformationShare && Reveal(customer) is { } identifier)
            {
                kind = RecordKind.NewInformation;
                known.Add(identifier);
                observation.Identifiers.Add(identifier);
            }
            else
            {
                kind = RecordKind.Repeat;
            }
        }

        var merge = false;
        if (seen.Count > 1 && random.NextDouble() < options.MergeRate)
        {
            var other = seen[random.Next(seen.Count)];
            if (other != customer)
            {
                var theirs = revealed[other]!;
                observation.Identifiers.Add(theirs[random.Next(theirs.Count)]);
                merge = true;
            }
        }

        var junk = false;
        if (random.NextDouble() < options.JunkRate)
        {
            observation.Identifiers.Add(Junk());
            junk = true;
        }

        observation.Attributes["first_name"] = string.Create(CultureInfo.InvariantCulture, $"Name{customer % 997}");
        if (random.Next(10) == 0)
        {
            observation.Consents.Add(new Consent
            {
                Purpose = "marketing",
                Channel = ContactChannel.Email,
                Status = random.Next(3) == 0 ? ConsentStatus.Denied : ConsentStatus.Granted,
                DecidedAt = observation.ObservedAt,
            });
        }

        var json = random.NextDouble() < options.JsonShare;
        if (random.NextDouble() < options.MalformedRate)
        {
            return Malformed(i, observation, serialize);
        }

        var value = !serialize ? [] : json ? Encoding.UTF8.GetBytes(Formatter.Format(observation)) : observation.ToByteArray();
        return new WorkloadRecord(i, observation.ObservationId, value, json, kind, merge, junk);
    }

    private WorkloadRecord Malformed(long i, Observation observation, bool serialize)
    {
        var choice = random.Next(4);
        if (!serialize)
        {
            return new WorkloadRecord(i, "", [], choice == 1, RecordKind.Malformed, false, false);
        }

        return choice switch
        {
            // Bytes that are not a protobuf message (a truncated length-delimited field).
            0 => new WorkloadRecord(i, "", [0x0A, 0xFF, 0x01, 0x41], false, RecordKind.Malformed, false, false),
            // Truncated JSON.
            1 => new WorkloadRecord(i, "", Encoding.UTF8.GetBytes("{\"observationId\": \"" + observation.ObservationId + "\", \"identifiers\": ["), true, RecordKind.Malformed, false, false),
            // No observation id.
            2 => new WorkloadRecord(i, "", new Observation(observation) { ObservationId = "" }.ToByteArray(), false, RecordKind.Malformed, false, false),
            // No identifiers.
            _ => new WorkloadRecord(i, "", NoIdentifiers(observation), false, RecordKind.Malformed, false, false),
        };

        static byte[] NoIdentifiers(Observation observation)
        {
            observation.Identifiers.Clear();
            return observation.ToByteArray();
        }
    }

    /// <summary>A customer drawn by Zipf rank; rank r is customer r.</summary>
    private int Customer()
    {
        var u = random.NextDouble();
        var at = Array.BinarySearch(zipfCumulative, u);
        return Math.Min(at >= 0 ? at : ~at, options.Customers - 1);
    }

    /// <summary>
    /// The customer's next identifier not revealed yet: first their static ones (e-mail, phone, card, token, as the
    /// customer has them), then devices, up to <see cref="WorkloadOptions.MaxDevices"/>; null when all are known.
    /// </summary>
    private Identifier? Reveal(int customer)
    {
        while (nextStatic[customer] < 4)
        {
            var slot = nextStatic[customer]++;
            var identifier = Static(customer, slot);
            if (identifier is not null)
            {
                return identifier;
            }
        }

        return devices[customer] < options.MaxDevices ? Device(customer, devices[customer]++) : null;
    }

    // Whether a customer has an identifier type is a fixed property of the customer (a hash, not the random stream),
    // so the same customer has the same identifiers in every run.
    private Identifier? Static(int customer, int slot) => slot switch
    {
        0 when Has(customer, 0, options.EmailShare) => new Identifier
        {
            Type = IdentifierType.Email,
            // Written untidily, as channel systems send them: case, spaces.
            Value = string.Create(CultureInfo.InvariantCulture, $" Customer.{customer}@Shop{customer % 7}.Example.com"),
        },
        1 when Has(customer, 1, options.PhoneShare) => new Identifier
        {
            Type = IdentifierType.Phone,
            Value = Household(customer) is { } household
                ? string.Create(CultureInfo.InvariantCulture, $"+45 3{household:D7}")
                : string.Create(CultureInfo.InvariantCulture, $"+45 {20_000_000 + customer}"),
        },
        2 when Has(customer, 2, options.CardShare) => new Identifier
        {
            Type = IdentifierType.MembershipCard,
            Namespace = "club",
            Value = string.Create(CultureInfo.InvariantCulture, $"m-{customer:D9}"),
        },
        3 when Has(customer, 3, options.TokenShare) => new Identifier
        {
            Type = IdentifierType.PaymentToken,
            Namespace = "psp",
            Value = string.Create(CultureInfo.InvariantCulture, $"tok_{Mix(customer, 99):x16}"),
        },
        _ => null,
    };

    private static Identifier Device(int customer, int n) => new()
    {
        Type = IdentifierType.DeviceId,
        Value = new Guid((int)Mix(customer, n), (short)n, 0x4000, 0x80, 0, 0, 0, 0, 0, (byte)(customer & 0xFF), (byte)((customer >> 8) & 0xFF)).ToString("D").ToUpperInvariant(),
    };

    /// <summary>The household (by number) of a customer who lives in one, else null.</summary>
    private int? Household(int customer)
    {
        var household = customer / options.HouseholdSize;
        return Unit(Mix(household, 1_000_003)) < options.HouseholdShare ? household : null;
    }

    private static bool Has(int customer, int slot, double share) => Unit(Mix(customer, slot)) < share;

    private Identifier Junk() => random.Next(4) switch
    {
        0 => new Identifier { Type = IdentifierType.Email, Value = "noreply@shop.example.com" },
        1 => new Identifier { Type = IdentifierType.Phone, Value = "+45 11 11 11 11" },
        2 => new Identifier { Type = IdentifierType.PaymentToken, Namespace = "psp", Value = "4111 1111 1111 1111" },
        _ => new Identifier { Type = IdentifierType.Email, Value = "customer at shop dot com" },
    };

    private static ulong Mix(long a, long b)
    {
        // SplitMix64 of the pair: stable across runs and platforms (unlike HashCode).
        var z = unchecked((ulong)a * 0x9E3779B97F4A7C15UL + (ulong)b + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    private static double Unit(ulong hash) => (hash >> 11) * (1.0 / (1UL << 53));
}
