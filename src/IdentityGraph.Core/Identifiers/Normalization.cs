namespace IdentityGraph.Core.Identifiers;

/// <summary>The outcome of normalising one value: the canonical value, or why there is none.</summary>
public readonly record struct Normalization(string? Value, ValidationError? Error)
{
    public bool IsValid => Error is null;

    public static Normalization Ok(string value) => new(value, null);

    public static Normalization Fail(string code, string message) => new(null, new ValidationError(code, message));
}
