using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace IdentityGraph.Kafka;

/// <summary>
/// Listens on a chosen 127.0.0.1 port and pipes every connection, byte for byte, to a target endpoint. Gives the
/// mock brokers (which bind random ports) the fixed ports that developers and configuration files expect.
/// </summary>
internal sealed class TcpForwarder : IAsyncDisposable
{
    private const int BufferSize = 64 * 1024;

    private readonly Socket listener;
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentDictionary<long, Connection> connections = new();
    private Task acceptLoop = Task.CompletedTask;
    private long nextConnectionId;
    private int disposed;

    private TcpForwarder(Socket listener) => this.listener = listener;

    /// <summary>The port this forwarder listens on (the chosen one when bound to port 0).</summary>
    public int Port => ((IPEndPoint)listener.LocalEndPoint!).Port;

    /// <summary>Connections being forwarded now.</summary>
    public int OpenConnections => connections.Count;

    /// <summary>
    /// Binds 127.0.0.1:<paramref name="port"/> (0: a free port) without accepting yet, so that a taken port fails
    /// before anything else starts. Throws <see cref="SocketException"/> (<see cref="SocketError.AddressAlreadyInUse"/>).
    /// </summary>
    public static TcpForwarder Bind(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(512);
            return new TcpForwarder(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Starts accepting; each connection is piped to <paramref name="target"/>.</summary>
    public void Start(IPEndPoint target)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        acceptLoop = Task.Run(() => AcceptLoopAsync(target, stopping.Token));
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        // Stop accepting first so that no connection is added while the open ones are closed.
        await stopping.CancelAsync();
        listener.Dispose();
        await acceptLoop;
        foreach (var connection in connections.Values)
        {
            connection.Shutdown();
        }

        await Task.WhenAll(connections.Values.Select(c => c.Completion));
        stopping.Dispose();
    }

    private async Task AcceptLoopAsync(IPEndPoint target, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                // A connection reset before we accepted it, or out of file descriptors: back off, keep listening.
                await Task.Delay(TimeSpan.FromMilliseconds(50), CancellationToken.None);
                continue;
            }

            var id = Interlocked.Increment(ref nextConnectionId);
            var connection = new Connection(client);
            connections[id] = connection;
            connection.Completion = ForwardAsync(id, connection, target, cancellationToken);
        }
    }

    private async Task ForwardAsync(long id, Connection connection, IPEndPoint target, CancellationToken cancellationToken)
    {
        try
        {
            connection.Client.NoDelay = true;
            connection.Upstream.NoDelay = true;
            await connection.Upstream.ConnectAsync(target, cancellationToken);
            await Task.WhenAll(
                PumpAsync(connection.Client, connection.Upstream, connection),
                PumpAsync(connection.Upstream, connection.Client, connection));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The target refused or went away while connecting; the client sees its connection close.
        }
        finally
        {
            connection.Dispose();
            connections.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Copies <paramref name="from"/> to <paramref name="to"/>. End of stream is passed on as a half-close so that the
    /// other direction can finish; an error shuts both sockets down so that the other direction ends too.
    /// </summary>
    private static async Task PumpAsync(Socket from, Socket to, Connection connection)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                for (var sent = 0; sent < read;)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            connection.Shutdown();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed class Connection(Socket client) : IDisposable
    {
        public Socket Client { get; } = client;

        public Socket Upstream { get; } = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        public Task Completion { get; set; } = Task.CompletedTask;

        /// <summary>
        /// Ends both directions with a FIN; pending reads then see end of stream. Closing a socket with a read pending
        /// would reset the peer's connection instead. Idempotent.
        /// </summary>
        public void Shutdown()
        {
            ShutdownQuietly(Client);
            ShutdownQuietly(Upstream);
        }

        public void Dispose()
        {
            Client.Dispose();
            Upstream.Dispose();
        }

        private static void ShutdownQuietly(Socket socket)
        {
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Not connected (yet or any more): nothing to end.
            }
        }
    }
}
