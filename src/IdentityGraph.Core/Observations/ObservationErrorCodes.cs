namespace IdentityGraph.Core.Observations;

/// <summary>
/// Stable codes for observations that are refused as a whole (they go to the dead-letter topic or reject file).
/// Never rename one; listed in docs/error-codes.md.
/// </summary>
public static class ObservationErrorCodes
{
    /// <summary>The record is larger than <see cref="ObservationLimits.MaxRecordBytes"/>.</summary>
    public const string TooLarge = "observation.too_large";

    /// <summary>The record is empty.</summary>
    public const string Empty = "observation.empty";

    /// <summary>Not a valid protobuf <c>identitygraph.v1.Observation</c>.</summary>
    public const string Unparseable = "observation.unparseable";

    /// <summary>Not valid proto3 JSON for <c>identitygraph.v1.Observation</c>.</summary>
    public const string InvalidJson = "observation.invalid_json";

    /// <summary><c>observation_id</c> is missing or blank.</summary>
    public const string MissingId = "observation.missing_id";

    /// <summary><c>observation_id</c> is too long or has control characters.</summary>
    public const string IdInvalid = "observation.id_invalid";

    /// <summary><c>source</c> is too long or has control characters.</summary>
    public const string SourceInvalid = "observation.source_invalid";

    /// <summary><c>observed_at</c> is missing.</summary>
    public const string MissingObservedAt = "observation.missing_observed_at";

    /// <summary><c>observed_at</c> is before 1970 or further in the future than the allowed clock skew.</summary>
    public const string ObservedAtOutOfRange = "observation.observed_at_out_of_range";

    /// <summary>The observation carries no identifiers.</summary>
    public const string NoIdentifiers = "observation.no_identifiers";

    /// <summary>None of the identifiers is valid (their own codes are in the message).</summary>
    public const string NoValidIdentifier = "observation.no_valid_identifier";

    /// <summary>More identifiers than <see cref="ObservationLimits.MaxIdentifiers"/>: no single touchpoint sees that many.</summary>
    public const string TooManyIdentifiers = "observation.too_many_identifiers";

    /// <summary>More consents than <see cref="ObservationLimits.MaxConsents"/>.</summary>
    public const string TooManyConsents = "observation.too_many_consents";

    /// <summary>More attributes than <see cref="ObservationLimits.MaxAttributes"/>.</summary>
    public const string TooManyAttributes = "observation.too_many_attributes";

    /// <summary>A consent purpose that is not a 1–64 character slug of [a-z0-9_.-].</summary>
    public const string ConsentPurposeInvalid = "consent.purpose_invalid";

    /// <summary>A consent without a contact channel.</summary>
    public const string ConsentChannelUnspecified = "consent.channel_unspecified";

    /// <summary>A consent that is neither granted nor denied.</summary>
    public const string ConsentStatusUnspecified = "consent.status_unspecified";

    /// <summary>A consent decided before 1970 or in the future beyond the allowed clock skew.</summary>
    public const string ConsentDecidedAtOutOfRange = "consent.decided_at_out_of_range";

    /// <summary>An attribute key that is not 1–64 characters of [A-Za-z0-9_.-], or a value longer than 1024 characters.</summary>
    public const string AttributeInvalid = "attribute.invalid";
}
