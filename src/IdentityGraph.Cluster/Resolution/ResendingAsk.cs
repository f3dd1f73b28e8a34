using Akka.Actor;

namespace IdentityGraph.Cluster.Resolution;

/// <summary>
/// An ask that re-sends its message every <see cref="ResendAfter"/> until its time-out. Only for idempotent messages —
/// every message of the merge protocol is one (a read, a compare-and-set claim, an observation the profile already
/// holds, an absorb, merge or repoint already done), so a copy changes nothing. What it buys: an answer from an entity
/// whose recovery failed (the journal's circuit breaker still open, or a broken pooled connection, just after a
/// database outage). Such an entity has stopped and dropped what it had stashed; the copy starts it again, instead of
/// the caller waiting out the whole time-out. The price: the answer to a copy of an observation that was already
/// applied reports it as nothing new, so outcome counts can under-count when an ask takes longer than that.
/// </summary>
internal static class ResendingAsk
{
    /// <summary>How long an ask waits before the message is sent again.</summary>
    public static readonly TimeSpan ResendAfter = TimeSpan.FromSeconds(2);

    public static async Task<T> Ask<T>(IActorRef recipient, object message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            try
            {
                return await recipient.Ask<T>(message, left < ResendAfter ? left : ResendAfter, cancellationToken);
            }
            catch (AskTimeoutException) when (DateTime.UtcNow + TimeSpan.FromMilliseconds(10) < deadline)
            {
                // Not answered yet: send a copy.
            }
        }
    }
}
