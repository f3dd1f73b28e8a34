using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;

namespace IdentityGraph.Core.Observations;

/// <summary>An identifier in canonical form together with its pseudonymous key.</summary>
public sealed record KeyedIdentifier(IdentifierKey Key, NormalizedIdentifier Identifier);

/// <summary>A validated consent choice.</summary>
/// <param name="Purpose">Lower-case slug, e.g. "marketing".</param>
public sealed record ConsentChoice(string Purpose, ContactChannel Channel, ConsentStatus Status, DateTimeOffset DecidedAt);

/// <summary>An identifier that was dropped from an otherwise valid observation, with the reason.</summary>
/// <param name="Type">The declared type (may be Unspecified).</param>
public sealed record DroppedIdentifier(IdentifierType Type, ValidationError Error);

/// <summary>
/// An observation after validation and normalisation: what the graph consumes.
/// <see cref="Identifiers"/> holds at least one entry, distinct by key and ordered by key.
/// </summary>
public sealed record NormalizedObservation(
    string ObservationId,
    string Source,
    Channel Channel,
    DateTimeOffset ObservedAt,
    IReadOnlyList<KeyedIdentifier> Identifiers,
    IReadOnlyList<ConsentChoice> Consents,
    IReadOnlyDictionary<string, string> Attributes,
    IReadOnlyList<DroppedIdentifier> Dropped);
