using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using Akka.Actor;
using IdentityGraph.Core.Profiles;

namespace IdentityGraph.Cluster.Publishing;

/// <summary>
/// The write path's hand-off to the publisher: "this profile event just became durable in the journal, and here is the
/// profile's state before and after it". <c>ProfileEntity</c> raises it in its persist callbacks; the publisher
/// (<see cref="ProfileChangeFeed"/>) waits on it to read the journal at once instead of at its next catch-up, and takes
/// the states handed over instead of rebuilding them (a replay of the profile from the journal when its own cache does
/// not hold the state before). The journal stays the source of truth and the order: the feed still reads every event
/// from it, and a lost hand-off or signal only costs a replay or moves a read later. One per actor system (an Akka
/// extension), so every system in a process — tests run several — has its own; other nodes' writes do not raise it here.
/// </summary>
public sealed class ProfileChangeSignal : IExtension
{
    private ProfileChangeSubscription[] subscriptions = [];

    /// <summary>The signal of <paramref name="system"/>.</summary>
    public static ProfileChangeSignal Get(ActorSystem system) => system.WithExtension<ProfileChangeSignal, ProfileChangeSignalProvider>();

    /// <summary>
    /// A profile event is durable: hands the profile's states before and after it (<paramref name="after"/>'s version
    /// is the event's sequence number) to every subscriber and wakes it. Cheap and never blocks: signals raised before a
    /// subscriber reads coalesce into one; without subscribers (the publisher runs on another node) it does nothing.
    /// </summary>
    public void Durable(string persistenceId, ProfileState before, ProfileState after)
    {
        foreach (var subscription in Volatile.Read(ref subscriptions))
        {
            subscription.Durable(persistenceId, before, after);
        }
    }

    /// <summary>
    /// Starts listening: signals raised from now on are kept (coalesced into one) until read with
    /// <see cref="ProfileChangeSubscription.WaitAsync"/>, and up to <paramref name="handOffCapacity"/> handed-over
    /// states until taken with <see cref="ProfileChangeSubscription.TryTake(string, long, out ProfileState?, out ProfileState?)"/>
    /// (past it, new ones are dropped: the reader rebuilds those from the journal). Dispose the subscription to stop.
    /// </summary>
    public ProfileChangeSubscription Subscribe(int handOffCapacity = 0)
    {
        var subscription = new ProfileChangeSubscription(this, handOffCapacity);
        Update(list => [.. list, subscription]);
        return subscription;
    }

    internal void Unsubscribe(ProfileChangeSubscription subscription) => Update(list => [.. list.Where(s => s != subscription)]);

    // Copy on write: Notify, on every write of every profile, reads the array without a lock.
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

/// <summary>
/// One listener of a <see cref="ProfileChangeSignal"/>: at most one pending wake-up, however many signals were raised,
/// and the states handed over, by profile and version, until the reader takes them.
/// </summary>
public sealed class ProfileChangeSubscription : IDisposable
{
    private readonly ProfileChangeSignal signal;
    private readonly int handOffCapacity;
    private readonly ConcurrentDictionary<(string PersistenceId, long Version), (ProfileState Before, ProfileState After, long HandedAt)> handedOff = new();
    private readonly Channel<bool> pending = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private int handedOffCount;

    internal ProfileChangeSubscription(ProfileChangeSignal signal, int handOffCapacity)
    {
        this.signal = signal;
        this.handOffCapacity = handOffCapacity;
    }

    /// <summary>States handed over and not taken yet.</summary>
    public int HandedOff => Volatile.Read(ref handedOffCount);

    /// <summary>
    /// Takes the states before and after the event that brought <paramref name="persistenceId"/> to
    /// <paramref name="version"/>, when they were handed over; false when the reader must rebuild them.
    /// </summary>
    public bool TryTake(string persistenceId, long version, [NotNullWhen(true)] out ProfileState? before, [NotNullWhen(true)] out ProfileState? after)
    {
        if (handedOff.TryRemove((persistenceId, version), out var states))
        {
            Interlocked.Decrement(ref handedOffCount);
            (before, after, _) = states;
            return true;
        }

        (before, after) = (null, null);
        return false;
    }

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

    /// <summary>
    /// Drops the states handed over longer than <paramref name="age"/> ago and returns how many. A state is normally
    /// taken within milliseconds; one the reader will never take — its event was read before the persist callback ran,
    /// and rebuilt — would otherwise hold a place for good, and enough of them would fill the hand-off.
    /// </summary>
    public int DropOlderThan(TimeSpan age)
    {
        var cutoff = Environment.TickCount64 - (long)age.TotalMilliseconds;
        var dropped = 0;
        foreach (var (key, states) in handedOff)
        {
            if (states.HandedAt <= cutoff && handedOff.TryRemove(key, out _))
            {
                Interlocked.Decrement(ref handedOffCount);
                dropped++;
            }
        }

        return dropped;
    }

    internal void Durable(string persistenceId, ProfileState before, ProfileState after)
    {
        // The count may overshoot by the writers racing here; the bound is about memory, not exact.
        if (handOffCapacity > 0 && Volatile.Read(ref handedOffCount) < handOffCapacity &&
            handedOff.TryAdd((persistenceId, after.Version), (before, after, Environment.TickCount64)))
        {
            Interlocked.Increment(ref handedOffCount);
        }

        pending.Writer.TryWrite(true);
    }
}

/// <summary>Creates the <see cref="ProfileChangeSignal"/> of an actor system.</summary>
public sealed class ProfileChangeSignalProvider : ExtensionIdProvider<ProfileChangeSignal>
{
    public override ProfileChangeSignal CreateExtension(ExtendedActorSystem system) => new();
}
