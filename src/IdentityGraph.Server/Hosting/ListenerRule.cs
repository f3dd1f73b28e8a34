using System.Net;
using IdentityGraph.Server.Api;
using IdentityGraph.Server.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace IdentityGraph.Server.Hosting;

/// <summary>
/// The rule for listening beyond loopback: a node reachable from the network needs an API key (without one the lookup
/// API would be open) and a configured HMAC secret (the development secret is public, so anyone could recompute
/// identifier keys). <c>serve</c> applies it to the listeners it is configured with, before anything starts, and
/// again to the addresses Kestrel actually bound, right after start.
/// </summary>
public sealed record ListenerRule(bool HasApiKey, bool HasKeySecret)
{
    /// <summary>Kestrel's own endpoint configuration (<c>Kestrel__Endpoints__NAME__Url</c>), which it binds besides ours.</summary>
    public const string KestrelEndpointsSection = "Kestrel:Endpoints";

    public static ListenerRule For(ServerSettings server, IdentitySettings identity)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(identity);
        return new(server.Api.Key is not null, !identity.UsesDevelopmentSecret);
    }

    /// <summary>Every listener the configuration opens: HTTP, gRPC and each <c>Kestrel:Endpoints:NAME:Url</c>.</summary>
    public static IReadOnlyList<string> Configured(IConfiguration configuration, Uri http, Uri? grpc)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(http);
        var listeners = new List<string> { http.ToString() };
        if (grpc is not null)
        {
            listeners.Add(grpc.ToString());
        }

        listeners.AddRange(configuration.GetSection(KestrelEndpointsSection).GetChildren()
            .Select(endpoint => endpoint["Url"] ?? $"{KestrelEndpointsSection}:{endpoint.Key} (no Url)"));
        return listeners;
    }

    /// <summary>
    /// Whether a listener address is reachable from this machine only, read the way Kestrel binds it: <c>localhost</c>
    /// binds loopback, an IP address binds that address, any other host (<c>*</c>, <c>+</c>, a name) every interface.
    /// Sockets and pipes count as beyond loopback: a caller there has no loopback address to show.
    /// </summary>
    public static bool IsLoopback(string listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(listener);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return false;
        }

        return !address.IsUnixPipe && !address.IsNamedPipe &&
            (address.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
             IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip) && ApiKeyAuthentication.IsLoopback(ip));
    }

    /// <summary>What must be fixed before these <paramref name="listeners"/> may be served; empty when none.</summary>
    public IReadOnlyList<string> Problems(IEnumerable<string> listeners)
    {
        ArgumentNullException.ThrowIfNull(listeners);
        var beyond = string.Join(", ", listeners.Where(l => !IsLoopback(l)).Distinct(StringComparer.Ordinal));
        var problems = new List<string>();
        if (beyond.Length == 0)
        {
            return problems;
        }

        if (!HasApiKey)
        {
            problems.Add($"{ServerSettings.Section}:Api:Key is required when a listener is beyond loopback ({beyond}): without it the lookup API would be open to the network.");
        }

        if (!HasKeySecret)
        {
            problems.Add($"{IdentitySettings.Section}:KeySecret is required when a listener is beyond loopback ({beyond}): the development secret is public, so anyone could recompute the identifier keys.");
        }

        return problems;
    }
}
