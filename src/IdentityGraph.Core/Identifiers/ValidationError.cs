namespace IdentityGraph.Core.Identifiers;

/// <summary>
/// Why an input was refused. <see cref="Code"/> is stable (documented in docs/error-codes.md and used in
/// dead-letter headers and metrics); <see cref="Message"/> is for people and never contains the raw value.
/// </summary>
public sealed record ValidationError(string Code, string Message)
{
    public override string ToString() => $"{Code}: {Message}";
}
