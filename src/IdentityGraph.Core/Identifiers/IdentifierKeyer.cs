using System.Security.Cryptography;
using System.Text;

namespace IdentityGraph.Core.Identifiers;

/// <summary>
/// Turns normalised identifiers into <see cref="IdentifierKey"/>s under a keyed hash, so that entity ids,
/// logs and metrics never carry raw PII. The secret must be the same on every node and never change
/// (changing it orphans every existing key).
/// </summary>
public sealed class IdentifierKeyer
{
    /// <summary>
    /// The secret used when none is configured. Fine for development and tests; a production
    /// deployment configures its own (IdentityGraph__Identity__KeySecret) so keys cannot be brute-forced offline.
    /// </summary>
    public const string DevelopmentSecret = "identitygraph-development-key-secret-do-not-use-in-production";

    /// <summary>Shortest secret accepted, in bytes of UTF-8.</summary>
    public const int MinimumSecretLength = 16;

    private readonly byte[] secret;

    public IdentifierKeyer(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var bytes = Encoding.UTF8.GetBytes(secret);
        if (bytes.Length < MinimumSecretLength)
        {
            throw new ArgumentException(
                $"The identifier key secret must be at least {MinimumSecretLength} bytes long.", nameof(secret));
        }

        this.secret = bytes;
    }

    /// <summary>True when this keyer uses <see cref="DevelopmentSecret"/>.</summary>
    public bool IsDevelopmentSecret => secret.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(DevelopmentSecret));

    public IdentifierKey KeyOf(NormalizedIdentifier identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        // "{type}|{namespace}|{value}" in UTF-8, written into one buffer (this runs for every identifier of every observation).
        var type = identifier.TypeName;
        var length = Encoding.UTF8.GetMaxByteCount(type.Length + identifier.Namespace.Length + identifier.Value.Length + 2);
        var rented = length > 512 ? System.Buffers.ArrayPool<byte>.Shared.Rent(length) : null;
        var buffer = rented ?? stackalloc byte[512];
        var written = Encoding.UTF8.GetBytes(type, buffer);
        buffer[written++] = (byte)'|';
        written += Encoding.UTF8.GetBytes(identifier.Namespace, buffer[written..]);
        buffer[written++] = (byte)'|';
        written += Encoding.UTF8.GetBytes(identifier.Value, buffer[written..]);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(secret, buffer[..written], mac);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        return new IdentifierKey(Convert.ToHexStringLower(mac));
    }
}
