using Akka.Actor;

namespace IdentityGraph.Cluster.Resolution;

/// <summary>
/// An ask that re-sends its message every <c>resendAfter</c> until its time-out. Only for idempotent messages —
/// every message of the merge protocol is one (a read, a compare-and-set claim, an observation the profile already
/// holds, an absorb, merge or repoint already done), so a copy changes nothing. What it buys: an answer from an entity
/// whose recovery failed (the journal's circuit breaker still open, or a broken pooled connection, just after a
/// database outage). Such an entity has stopped and dropped what it had stashed; the copy starts it again, instead of
/// the caller waiting out the whole time-out. The price: the answer to a copy of an observation that was already
/// applied reports it as nothing new, so outcome counts can under-count when an ask takes longer than that.
/// </summary>
internal static class ResendingAsk
{
    /// <summary>Re-send period for reads and index slice messages: cheap to answer twice.</summary>
    public static readonly TimeSpan Soon = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Re-send period for the resolver's messages that make a profile decide (observe, merge): a copy costs a decision
    /// over the whole profile, and a hot profile that is merely slow must not be buried in copies of what it is working
    /// on. (A retiring profile re-sends its absorb <see cref="Soon"/>: it holds everything else while it waits.)
    /// </summary>
    public static readonly TimeSpan Late = TimeSpan.FromSeconds(10);

    public static async Task<T> Ask<T>(
        IActorRef recipient, object message, TimeSpan timeout, TimeSpan resendAfter, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            try
            {
                return await recipient.Ask<T>(message, left < resendAfter ? left : resendAfter, cancellationToken);
            }
            catch (AskTimeoutException) when (DateTime.UtcNow + TimeSpan.FromMilliseconds(10) < deadline)
            {
                // Not answered yet: send a copy.
            }
        }
    }
}
