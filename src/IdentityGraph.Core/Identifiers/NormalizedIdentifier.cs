using IdentityGraph.Contracts.V1;

namespace IdentityGraph.Core.Identifiers;

/// <summary>An identifier in canonical form: equal values mean the same identifier.</summary>
/// <param name="Type">The identifier kind; never <see cref="IdentifierType.Unspecified"/>.</param>
/// <param name="Namespace">The issuer scope, trimmed; empty for the global scope.</param>
/// <param name="Value">The normalised value.</param>
public sealed record NormalizedIdentifier(IdentifierType Type, string Namespace, string Value)
{
    /// <summary>The short type name used in keys, CLI output and exports: EMAIL, PHONE, ...</summary>
    public string TypeName => IdentifierTypes.ShortName(Type);

    public override string ToString() => $"{TypeName}|{Namespace}|<redacted>";
}
