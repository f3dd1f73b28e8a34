using System.Net;
using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Http;

namespace IdentityGraph.Server.Api;

/// <summary>
/// API-key authentication of the lookup API (HTTP <c>/v1/…</c> and gRPC): the key goes in the <c>X-Api-Key</c> header
/// (gRPC metadata <c>x-api-key</c>) or as <c>Authorization: Bearer KEY</c>. Without a configured key the API is open,
/// which start-up allows only when every listener is on loopback. Health and metrics stay open: they carry no personal
/// data and probes and scrapers rarely hold keys.
/// </summary>
public sealed class ApiKeyAuthentication(string? key)
{
    public const string HeaderName = "X-Api-Key";

    // Compared as hashes: fixed length, so the comparison time says nothing about the key.
    private readonly byte[]? expected = key is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public bool Required => expected is not null;

    /// <summary>True when the <paramref name="listener"/> URL is only reachable from this machine.</summary>
    public static bool IsLoopback(Uri listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        return listener.IsLoopback || (IPAddress.TryParse(listener.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }

    public bool Accepts(string? apiKeyHeader, string? authorizationHeader)
    {
        if (expected is null)
        {
            return true;
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

    /// <summary>Middleware: 401 with an error body for <c>/v1</c> requests without the key.</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal) &&
            !Accepts(context.Request.Headers[HeaderName], context.Request.Headers.Authorization))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(LookupHttpEndpoints.ErrorBody(
                LookupErrorCodes.Unauthenticated, $"Send the API key in the {HeaderName} header (or Authorization: Bearer)."));
            return;
        }

        await next(context);
    }

    /// <summary>The same check for gRPC calls, answered with UNAUTHENTICATED.</summary>
    public sealed class GrpcInterceptor(ApiKeyAuthentication authentication) : Interceptor
    {
        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
            TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            ArgumentNullException.ThrowIfNull(context);
            ArgumentNullException.ThrowIfNull(continuation);
            var headers = context.RequestHeaders;
            if (!authentication.Accepts(headers.GetValue("x-api-key"), headers.GetValue("authorization")))
            {
                throw LookupGrpcService.Failure(StatusCode.Unauthenticated, LookupErrorCodes.Unauthenticated, "Send the API key in the x-api-key metadata.");
            }

            return continuation(request, context);
        }
    }
}
