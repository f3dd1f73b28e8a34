using IdentityGraph.Core.Identifiers;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Server.Configuration;

/// <summary>
/// Section <c>IdentityGraph:Identity</c> (environment: <c>IdentityGraph__Identity__…</c>): how identifiers are
/// normalised and keyed. Must be identical on every node and stable over time.
/// </summary>
public sealed class IdentitySettings
{
    public const string Section = "IdentityGraph:Identity";

    /// <summary>HMAC secret for identifier keys (≥ 16 bytes). Unset: a public development secret, with a warning.</summary>
    public string? KeySecret { get; set; }

    /// <summary>Region for phone numbers without a country code (ISO 3166 alpha-2), e.g. "DK".</summary>
    public string? DefaultPhoneRegion { get; set; }

    /// <summary>Per-source phone region, keyed by observation source.</summary>
    public Dictionary<string, string> PhoneRegionBySource { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Fold Gmail dots and provider +tags in e-mail addresses.</summary>
    public bool FoldEmailProviderAliases { get; set; }

    /// <summary>Refuse placeholder values (noreply@…, a phone of one repeated digit) with <c>identifier.placeholder</c>.</summary>
    public bool RejectPlaceholders { get; set; } = true;

    /// <summary>
    /// Identifiers one profile may hold; an observation that would grow a profile (or a merge) beyond it is refused
    /// with <c>profile.identifier_limit</c>. Soft: concurrent observations can overshoot by their own identifiers.
    /// </summary>
    public int MaxIdentifiersPerProfile { get; set; } = ProfileLimits.Default.MaxIdentifiers;

    /// <summary>Attribute keys one profile keeps: the smallest keys (ordinal); the others are dropped and counted.</summary>
    public int MaxAttributesPerProfile { get; set; } = ProfileLimits.Default.MaxAttributes;

    /// <summary>Problems a person must fix before the program can start; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (KeySecret is not null && System.Text.Encoding.UTF8.GetByteCount(KeySecret) < IdentifierKeyer.MinimumSecretLength)
        {
            problems.Add($"{Section}:KeySecret must be at least {IdentifierKeyer.MinimumSecretLength} bytes long.");
        }

        if (DefaultPhoneRegion is not null && !PhoneNormalizer.IsKnownRegion(DefaultPhoneRegion))
        {
            problems.Add($"{Section}:DefaultPhoneRegion '{DefaultPhoneRegion}' is not a known ISO 3166 alpha-2 region code.");
        }

        if (MaxIdentifiersPerProfile < 1 || MaxAttributesPerProfile < 1)
        {
            problems.Add($"{Section}:MaxIdentifiersPerProfile and {Section}:MaxAttributesPerProfile must be at least 1.");
        }

        foreach (var (source, region) in PhoneRegionBySource)
        {
            if (!PhoneNormalizer.IsKnownRegion(region))
            {
                problems.Add($"{Section}:PhoneRegionBySource:{source} '{region}' is not a known ISO 3166 alpha-2 region code.");
            }
        }

        return problems;
    }

    public NormalizationOptions ToNormalizationOptions() => new()
    {
        DefaultPhoneRegion = DefaultPhoneRegion?.Trim().ToUpperInvariant(),
        PhoneRegionBySource = PhoneRegionBySource.ToDictionary(p => p.Key, p => p.Value.Trim().ToUpperInvariant(), StringComparer.Ordinal),
        FoldEmailProviderAliases = FoldEmailProviderAliases,
        RejectPlaceholders = RejectPlaceholders,
    };

    public ProfileLimits ToProfileLimits() => new() { MaxIdentifiers = MaxIdentifiersPerProfile, MaxAttributes = MaxAttributesPerProfile };

    /// <summary>
    /// What every command that keys, stores or serves identifiers (normalize, serve, demo, import, export) prints on
    /// stderr when no secret is configured.
    /// </summary>
    public const string DevelopmentSecretWarning =
        "warning: no IdentityGraph__Identity__KeySecret configured; identifier keys use the public development secret " +
        "(anyone can recompute them, and they will not match production). Set a secret of your own for real data.";

    /// <summary>True when identifier keys use the public development secret: none configured, or that one copied in.</summary>
    public bool UsesDevelopmentSecret => KeySecret is null || KeySecret == IdentifierKeyer.DevelopmentSecret;

    /// <summary>Writes <see cref="DevelopmentSecretWarning"/> to <paramref name="stderr"/> when <see cref="UsesDevelopmentSecret"/>.</summary>
    public async Task WarnIfDevelopmentSecretAsync(TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        if (UsesDevelopmentSecret)
        {
            await stderr.WriteLineAsync(DevelopmentSecretWarning);
        }
    }

    public IdentifierKeyer CreateKeyer() => new(KeySecret ?? IdentifierKeyer.DevelopmentSecret);
}
