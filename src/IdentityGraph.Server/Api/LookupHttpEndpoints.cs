using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace IdentityGraph.Server.Api;

/// <summary>
/// The lookup API over HTTP: <c>GET /v1/profiles/{id}</c> and <c>GET /v1/identifiers/{type}/{value}</c>
/// (<c>?namespace=…&amp;region=…</c>). Bodies are proto3 JSON of <c>identitygraph.v1.Profile</c>, plus
/// <c>redirectedFrom</c> when the asked-for id was merged away; errors are <c>{"error":{"code","message"}}</c>.
/// </summary>
public static class LookupHttpEndpoints
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default);

    public static IEndpointRouteBuilder MapLookupHttpApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/v1");
        api.MapGet("/profiles/{id}", async (string id, ProfileLookup lookup, HttpContext context) =>
            await Respond(context, () => lookup.GetProfileAsync(id, context.RequestAborted)));
        // {**value}: a token may hold '/', raw or as %2F (which the server leaves encoded in the path).
        api.MapGet("/identifiers/{type}/{**value}", async (string type, string value, string? @namespace, string? region, ProfileLookup lookup, HttpContext context) =>
            await Respond(context, () => lookup.LookupIdentifierAsync(
                type, value.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase), @namespace, region, context.RequestAborted)));
        return endpoints;
    }

    private static async Task<IResult> Respond(HttpContext context, Func<Task<LookupResult>> ask)
    {
        LookupResult result;
        try
        {
            result = await ask();
        }
        catch (Exception e) when (e is Akka.Actor.AskTimeoutException or TimeoutException)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, LookupErrorCodes.Unavailable, "The graph did not answer in time; try again.");
        }

        if (result.Status != LookupStatus.Found)
        {
            var status = result.Status switch
            {
                LookupStatus.Invalid => StatusCodes.Status400BadRequest,
                LookupStatus.Erased => StatusCodes.Status410Gone,
                _ => StatusCodes.Status404NotFound,
            };
            return Error(status, result.Error!.Code, result.Error.Message);
        }

        var body = Formatter.Format(result.Profile);
        if (result.RedirectedFrom is { } from)
        {
            // A profile id is a ULID (Crockford base32): nothing to escape. The body stays the formatter's own.
            body = "{\"redirectedFrom\":\"" + from + "\"," + body[1..];
            // Where the profile lives now, for clients that keep the id.
            context.Response.Headers.ContentLocation = "/v1/profiles/" + result.Profile!.ProfileId;
        }

        return Results.Text(body, "application/json");
    }

    internal static IResult Error(int status, string code, string message) =>
        Results.Text(ErrorBody(code, message), "application/json", statusCode: status);

    internal static string ErrorBody(string code, string message) =>
        JsonSerializer.Serialize(new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } });
}
