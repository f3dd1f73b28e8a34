using Grpc.Core;
using IdentityGraph.Contracts.V1;

namespace IdentityGraph.Server.Api;

/// <summary>
/// The gRPC <c>identitygraph.v1.Lookup</c> service: the same answers as the HTTP API. Failures carry the status
/// (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE) and the error code in the trailer <c>identitygraph-error-code</c>.
/// </summary>
public sealed class LookupGrpcService(ProfileLookup lookup) : Lookup.LookupBase
{
    public const string ErrorCodeTrailer = "identitygraph-error-code";

    public override async Task<LookupResponse> GetProfile(GetProfileRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        return Respond(await Ask(() => lookup.GetProfileAsync(request.ProfileId, context.CancellationToken)));
    }

    public override async Task<LookupResponse> LookupIdentifier(LookupIdentifierRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var identifier = request.Identifier ?? new Identifier();
        return Respond(await Ask(() => lookup.LookupIdentifierAsync(identifier.Type, identifier.Value, identifier.Namespace, request.Region, context.CancellationToken)));
    }

    private static async Task<LookupResult> Ask(Func<Task<LookupResult>> ask)
    {
        try
        {
            return await ask();
        }
        catch (Exception e) when (e is Akka.Actor.AskTimeoutException or TimeoutException)
        {
            throw Failure(StatusCode.Unavailable, LookupErrorCodes.Unavailable, "The graph did not answer in time; try again.");
        }
    }

    private static LookupResponse Respond(LookupResult result)
    {
        if (result.Status == LookupStatus.Found)
        {
            return new LookupResponse { Profile = result.Profile, RedirectedFrom = result.RedirectedFrom ?? "" };
        }

        var status = result.Status switch
        {
            LookupStatus.Invalid => StatusCode.InvalidArgument,
            _ => StatusCode.NotFound,
        };
        throw Failure(status, result.Error!.Code, result.Error.Message);
    }

    internal static RpcException Failure(StatusCode status, string code, string message) =>
        new(new Status(status, $"{code}: {message}"), new Metadata { { ErrorCodeTrailer, code } });
}
