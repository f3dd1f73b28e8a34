using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IdentityGraph.Server.Api;

/// <summary>
/// The API key of the lookup API: sent in the <c>X-Api-Key</c> header (gRPC metadata <c>x-api-key</c>) or as
/// <c>Authorization: Bearer KEY</c>. Without a configured key, only callers on a loopback listener are accepted.
/// </summary>
public sealed class ApiKeyAuthentication(string? key)
{
    public const string HeaderName = "X-Api-Key";

    // Compared as hashes: fixed length, so the comparison time says nothing about the key.
    private readonly byte[]? expected = key is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public bool Required => expected is not null;

    /// <summary>
    /// True when the caller may use the API: it presents the configured key, or no key is configured and the connection
    /// came in on a loopback address (<paramref name="localAddress"/>, the listener's side of the connection).
    /// </summary>
    public bool Accepts(string? apiKeyHeader, string? authorizationHeader, IPAddress? localAddress)
    {
        if (expected is null)
        {
            // Start-up refuses a listener beyond loopback without a key; this holds even for one that slipped through.
            return localAddress is not null && IsLoopback(localAddress);
        }

        var presented = apiKeyHeader;
        if (string.IsNullOrEmpty(presented) && authorizationHeader is { } authorization &&
            authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = authorization["Bearer ".Length..].Trim();
        }

        return !string.IsNullOrEmpty(presented) &&
            CryptographicOperations.FixedTimeEquals(expected, SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
    }

    /// <summary>True for 127.0.0.0/8 and ::1, also written as an IPv4-mapped IPv6 address.</summary>
    public static bool IsLoopback(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
    }

    /// <summary>
    /// Registers the <see cref="ApiKeyAuthenticationHandler.SchemeName"/> scheme and a fallback authorization policy
    /// that requires it on every endpoint (REST routes, gRPC methods, and any endpoint added later) whatever the path's
    /// spelling: only endpoints marked <c>AllowAnonymous</c> (health, readiness, metrics) are open.
    /// </summary>
    public static IServiceCollection Register(IServiceCollection services, string? key)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(new ApiKeyAuthentication(key));
        // The core services only: AddAuthentication() would add data protection, which writes a key ring to the home
        // directory at start, for cookies this API never issues.
        services.AddAuthenticationCore(o =>
        {
            o.AddScheme<ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, displayName: null);
            o.DefaultScheme = ApiKeyAuthenticationHandler.SchemeName;
        });
        services.AddTransient<ApiKeyAuthenticationHandler>();
        services.AddWebEncoders();
        services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName)
            .RequireAuthenticatedUser()
            .Build());
        return services;
    }
}

/// <summary>
/// The ASP.NET Core authentication scheme over <see cref="ApiKeyAuthentication"/>. A refused caller gets <c>401</c>
/// with <c>{"error":{"code":"api.unauthenticated",…}}</c>, or for gRPC the status UNAUTHENTICATED with the code in
/// the trailer <c>identitygraph-error-code</c>.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyAuthentication apiKey)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    private const string HttpMessage = $"Send the API key in the {ApiKeyAuthentication.HeaderName} header (or Authorization: Bearer).";
    private const string GrpcMessage = "Send the API key in the x-api-key metadata (or authorization: Bearer).";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var headers = Request.Headers;
        if (!apiKey.Accepts(headers[ApiKeyAuthentication.HeaderName], headers.Authorization, Context.Connection.LocalIpAddress))
        {
            return Task.FromResult(AuthenticateResult.Fail(apiKey.Required ? "missing or wrong API key" : "no API key configured and the listener is beyond loopback"));
        }

        var caller = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "api-client")], SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(caller, SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Request.ContentType is { } contentType && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
        {
            // A trailers-only gRPC answer, as Grpc.AspNetCore gives for a call that fails before any message.
            Response.StatusCode = StatusCodes.Status200OK;
            Response.ContentType = "application/grpc";
            Response.Headers["grpc-status"] = ((int)StatusCode.Unauthenticated).ToString(System.Globalization.CultureInfo.InvariantCulture);
            Response.Headers["grpc-message"] = $"{LookupErrorCodes.Unauthenticated}: {GrpcMessage}";
            Response.Headers[LookupGrpcService.ErrorCodeTrailer] = LookupErrorCodes.Unauthenticated;
            return;
        }

        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        Response.ContentType = "application/json";
        await Response.WriteAsync(LookupHttpEndpoints.ErrorBody(LookupErrorCodes.Unauthenticated, HttpMessage));
    }
}
