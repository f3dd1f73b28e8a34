using IdentityGraph.Contracts.V1;

namespace IdentityGraph.Core.Identifiers;

/// <summary>Names of <see cref="IdentifierType"/> as users write them: <c>PHONE</c> or <c>IDENTIFIER_TYPE_PHONE</c>.</summary>
public static class IdentifierTypes
{
    private const string Prefix = "IDENTIFIER_TYPE_";

    private static readonly Dictionary<string, IdentifierType> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["EMAIL"] = IdentifierType.Email,
        ["PHONE"] = IdentifierType.Phone,
        ["MEMBERSHIP_CARD"] = IdentifierType.MembershipCard,
        ["PAYMENT_TOKEN"] = IdentifierType.PaymentToken,
        ["CUSTOMER_ID"] = IdentifierType.CustomerId,
        ["DEVICE_ID"] = IdentifierType.DeviceId,
    };

    /// <summary>All identifier types that can be used (everything but UNSPECIFIED).</summary>
    public static IReadOnlyList<IdentifierType> All { get; } = [.. ByName.Values];

    /// <summary>Parses <c>EMAIL</c> or <c>IDENTIFIER_TYPE_EMAIL</c> (case-insensitive).</summary>
    public static bool TryParse(string? name, out IdentifierType type)
    {
        type = IdentifierType.Unspecified;
        if (string.IsNullOrWhiteSpace(name))
        {
            return false;
        }

        var trimmed = name.Trim();
        if (trimmed.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            trimmed = trimmed[Prefix.Length..];
        }

        return ByName.TryGetValue(trimmed, out type);
    }

    /// <summary>EMAIL, PHONE, MEMBERSHIP_CARD, PAYMENT_TOKEN, CUSTOMER_ID, DEVICE_ID.</summary>
    public static string ShortName(IdentifierType type) => type switch
    {
        IdentifierType.Email => "EMAIL",
        IdentifierType.Phone => "PHONE",
        IdentifierType.MembershipCard => "MEMBERSHIP_CARD",
        IdentifierType.PaymentToken => "PAYMENT_TOKEN",
        IdentifierType.CustomerId => "CUSTOMER_ID",
        IdentifierType.DeviceId => "DEVICE_ID",
        _ => "UNSPECIFIED",
    };
}
