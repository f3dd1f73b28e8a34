using IdentityGraph.Contracts.V1;
using IdentityGraph.Core.Identifiers;

namespace IdentityGraph.Core.Observations;

/// <summary>
/// Validates an <see cref="Observation"/> and turns it into a <see cref="NormalizedObservation"/>: the only form the
/// graph accepts. A structurally bad observation is refused with one error (it goes to the dead-letter topic); an
/// invalid identifier inside an otherwise valid observation is dropped and reported in
/// <see cref="NormalizedObservation.Dropped"/> so it can be counted.
/// </summary>
public sealed class ObservationNormalizer(
    IdentifierNormalizer identifiers,
    IdentifierKeyer keyer,
    ObservationLimits? limits = null,
    TimeProvider? clock = null)
{
    private readonly ObservationLimits limits = limits ?? ObservationLimits.Default;
    private readonly TimeProvider clock = clock ?? TimeProvider.System;

    public readonly record struct Result(NormalizedObservation? Observation, ValidationError? Error)
    {
        public bool IsValid => Error is null;
    }

    public Result Normalize(Observation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);

        var id = observation.ObservationId?.Trim() ?? "";
        if (id.Length == 0)
        {
            return Fail(ObservationErrorCodes.MissingId, "observation_id is required.");
        }

        if (id.Length > limits.MaxObservationIdLength || id.Any(char.IsControl))
        {
            return Fail(
                ObservationErrorCodes.IdInvalid,
                $"observation_id must be at most {limits.MaxObservationIdLength} characters without control characters.");
        }

        var source = observation.Source?.Trim() ?? "";
        if (source.Length > limits.MaxSourceLength || source.Any(char.IsControl))
        {
            return Fail(
                ObservationErrorCodes.SourceInvalid,
                $"source must be at most {limits.MaxSourceLength} characters without control characters.");
        }

        if (observation.ObservedAt is null)
        {
            return Fail(ObservationErrorCodes.MissingObservedAt, "observed_at is required.");
        }

        var latest = clock.GetUtcNow() + limits.MaxFutureSkew;
        if (!TryTime(observation.ObservedAt, latest, out var observedAt))
        {
            return Fail(
                ObservationErrorCodes.ObservedAtOutOfRange,
                $"observed_at must lie between 1970-01-01 and {limits.MaxFutureSkew.TotalHours:0} hours from now.");
        }

        if (observation.Identifiers.Count == 0)
        {
            return Fail(ObservationErrorCodes.NoIdentifiers, "The observation has no identifiers.");
        }

        if (observation.Identifiers.Count > limits.MaxIdentifiers)
        {
            return Fail(
                ObservationErrorCodes.TooManyIdentifiers,
                $"The observation has {observation.Identifiers.Count} identifiers; at most {limits.MaxIdentifiers} are accepted.");
        }

        var consents = NormalizeConsents(observation, observedAt, latest, out var consentError);
        if (consentError is not null)
        {
            return new Result(null, consentError);
        }

        var attributes = NormalizeAttributes(observation, out var attributeError);
        if (attributeError is not null)
        {
            return new Result(null, attributeError);
        }

        var region = identifiers.PhoneRegionFor(source);
        var keyed = new SortedDictionary<IdentifierKey, KeyedIdentifier>();
        var dropped = new List<DroppedIdentifier>();
        foreach (var raw in observation.Identifiers)
        {
            var result = identifiers.Normalize(raw.Type, raw.Value, raw.Namespace, region);
            if (result.IsValid)
            {
                var key = keyer.KeyOf(result.Identifier!);
                keyed.TryAdd(key, new KeyedIdentifier(key, result.Identifier!));
            }
            else
            {
                dropped.Add(new DroppedIdentifier(raw.Type, result.Error!));
            }
        }

        if (keyed.Count == 0)
        {
            var codes = string.Join(", ", dropped.Select(d => d.Error.Code).Distinct());
            return Fail(ObservationErrorCodes.NoValidIdentifier, $"None of the identifiers is valid ({codes}).");
        }

        var channel = Enum.IsDefined(observation.Channel) && observation.Channel != Channel.Unspecified
            ? observation.Channel
            : Channel.Other;

        return new Result(
            new NormalizedObservation(id, source, channel, observedAt, [.. keyed.Values], consents, attributes, dropped),
            null);
    }

    private List<ConsentChoice> NormalizeConsents(
        Observation observation, DateTimeOffset observedAt, DateTimeOffset latest, out ValidationError? error)
    {
        error = null;
        var result = new List<ConsentChoice>(observation.Consents.Count);
        if (observation.Consents.Count > limits.MaxConsents)
        {
            error = new ValidationError(
                ObservationErrorCodes.TooManyConsents, $"At most {limits.MaxConsents} consents per observation are accepted.");
            return result;
        }

        foreach (var consent in observation.Consents)
        {
            var purpose = (consent.Purpose ?? "").Trim().ToLowerInvariant();
            if (!IsSlug(purpose, 64, allowUpper: false))
            {
                error = new ValidationError(
                    ObservationErrorCodes.ConsentPurposeInvalid, "A consent purpose must be 1-64 characters of [a-z0-9_.-].");
                return result;
            }

            if (consent.Channel == ContactChannel.Unspecified || !Enum.IsDefined(consent.Channel))
            {
                error = new ValidationError(ObservationErrorCodes.ConsentChannelUnspecified, "A consent needs a known contact channel.");
                return result;
            }

            if (consent.Status == ConsentStatus.Unspecified || !Enum.IsDefined(consent.Status))
            {
                error = new ValidationError(ObservationErrorCodes.ConsentStatusUnspecified, "A consent must be granted or denied.");
                return result;
            }

            var decidedAt = observedAt;
            if (consent.DecidedAt is not null && !TryTime(consent.DecidedAt, latest, out decidedAt))
            {
                error = new ValidationError(
                    ObservationErrorCodes.ConsentDecidedAtOutOfRange, "A consent's decided_at is before 1970 or in the future.");
                return result;
            }

            result.Add(new ConsentChoice(purpose, consent.Channel, consent.Status, decidedAt));
        }

        return result;
    }

    private SortedDictionary<string, string> NormalizeAttributes(Observation observation, out ValidationError? error)
    {
        error = null;
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (observation.Attributes.Count > limits.MaxAttributes)
        {
            error = new ValidationError(
                ObservationErrorCodes.TooManyAttributes, $"At most {limits.MaxAttributes} attributes per observation are accepted.");
            return result;
        }

        foreach (var (key, value) in observation.Attributes)
        {
            if (!IsSlug(key, limits.MaxAttributeKeyLength, allowUpper: true) || value.Length > limits.MaxAttributeValueLength)
            {
                error = new ValidationError(
                    ObservationErrorCodes.AttributeInvalid,
                    $"Attribute keys must be 1-{limits.MaxAttributeKeyLength} characters of [A-Za-z0-9_.-] and values at most {limits.MaxAttributeValueLength} characters.");
                return result;
            }

            result[key] = value;
        }

        return result;
    }

    private static bool TryTime(Google.Protobuf.WellKnownTypes.Timestamp timestamp, DateTimeOffset latest, out DateTimeOffset time)
    {
        time = default;
        // Timestamp.ToDateTimeOffset throws outside 0001-9999 or for invalid nanos; range-check the raw fields first.
        if (timestamp.Seconds < 0 || timestamp.Nanos is < 0 or > 999_999_999 || timestamp.Seconds > latest.ToUnixTimeSeconds())
        {
            return false;
        }

        time = timestamp.ToDateTimeOffset();
        return time <= latest;
    }

    private static bool IsSlug(string value, int maxLength, bool allowUpper)
    {
        if (value.Length == 0 || value.Length > maxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            var ok = char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c) || c is '_' or '.' or '-' || (allowUpper && char.IsAsciiLetterUpper(c));
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static Result Fail(string code, string message) => new(null, new ValidationError(code, message));
}
