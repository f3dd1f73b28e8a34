using System.Threading.Channels;
using Akka.Actor;

namespace IdentityGraph.Cluster.Publishing;

/// <summary>
/// The write path's wake-up for the publisher: "a profile change just became durable in the journal". A profile slice
/// raises it in its persist callback; the publisher (<see cref="ProfileChangeFeed"/>) waits on it to read the journal at
/// once instead of at its next catch-up. The journal stays the source of truth and the order: a lost signal only moves
/// a read later. One per actor system (an Akka extension), so every system in a process — tests run several — has its
/// own; other nodes' writes do not raise it here.
/// </summary>
public sealed class ProfileChangeSignal : IExtension
{
    private ProfileChangeSubscription[] subscriptions = [];

    /// <summary>The signal of <paramref name="system"/>.</summary>
    public static ProfileChangeSignal Get(ActorSystem system) => system.WithExtension<ProfileChangeSignal, ProfileChangeSignalProvider>();

    /// <summary>
    /// A profile change is durable: wakes every subscriber. Cheap and never blocks: signals raised before a subscriber
    /// reads coalesce into one; without subscribers (the publisher runs on another node) it does nothing.
    /// </summary>
    public void Durable()
    {
        foreach (var subscription in Volatile.Read(ref subscriptions))
        {
            subscription.Signal();
        }
    }

    /// <summary>
    /// Starts listening: signals raised from now on are kept (coalesced into one) until read with
    /// <see cref="ProfileChangeSubscription.WaitAsync"/>. Dispose the subscription to stop.
    /// </summary>
    public ProfileChangeSubscription Subscribe()
    {
        var subscription = new ProfileChangeSubscription(this);
        Update(list => [.. list, subscription]);
        return subscription;
    }

    internal void Unsubscribe(ProfileChangeSubscription subscription) => Update(list => [.. list.Where(s => s != subscription)]);

    // Copy on write: Durable, on every write, reads the array without a lock.
    private void Update(Func<ProfileChangeSubscription[], ProfileChangeSubscription[]> change)
    {
        ProfileChangeSubscription[] before, after;
        do
        {
            before = Volatile.Read(ref subscriptions);
            after = change(before);
        }
        while (Interlocked.CompareExchange(ref subscriptions, after, before) != before);
    }
}

/// <summary>One listener of a <see cref="ProfileChangeSignal"/>: at most one pending wake-up, however many signals were raised.</summary>
public sealed class ProfileChangeSubscription : IDisposable
{
    private readonly ProfileChangeSignal signal;
    private readonly Channel<bool> pending = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    internal ProfileChangeSubscription(ProfileChangeSignal signal) => this.signal = signal;

    /// <summary>
    /// Waits for a signal raised since this subscription last took one, at most <paramref name="timeout"/>. True when
    /// signalled (at once when one is pending), false when the time-out passed first.
    /// </summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (TryTake())
        {
            return true;
        }

        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        waiting.CancelAfter(timeout);
        try
        {
            // A cancelled read takes nothing: a signal raised after the time-out stays pending for the next wait.
            await pending.Reader.ReadAsync(waiting.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Takes a pending signal, if any, without waiting.</summary>
    public bool TryTake() => pending.Reader.TryRead(out _);

    public void Dispose() => signal.Unsubscribe(this);

    internal void Signal() => pending.Writer.TryWrite(true);
}

/// <summary>Creates the <see cref="ProfileChangeSignal"/> of an actor system.</summary>
public sealed class ProfileChangeSignalProvider : ExtensionIdProvider<ProfileChangeSignal>
{
    public override ProfileChangeSignal CreateExtension(ExtendedActorSystem system) => new();
}
