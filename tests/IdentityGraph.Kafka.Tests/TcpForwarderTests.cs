using System.Net;
using System.Net.Sockets;
using System.Text;

namespace IdentityGraph.Kafka.Tests;

/// <summary>The forwarder in front of each mock broker, against a real TCP echo server.</summary>
public sealed class TcpForwarderTests
{
    [Fact]
    public async Task Many_concurrent_connections_each_get_their_own_bytes_back()
    {
        await using var echo = EchoServer.Start();
        await using var forwarder = TcpForwarder.Bind(0);
        forwarder.Start(echo.EndPoint);

        var payloads = Enumerable.Range(0, 200).Select(i => Encoding.UTF8.GetBytes($"connection {i}: " + new string('x', i * 997))).ToList();
        var answers = await Task.WhenAll(payloads.Select(p => RoundTrip(forwarder.Port, p)));

        Assert.Equal(payloads, answers);
        await WaitUntil(() => forwarder.OpenConnections == 0);
    }

    [Fact]
    public async Task A_half_close_is_passed_on_and_the_answer_still_arrives()
    {
        await using var echo = EchoServer.Start();
        await using var forwarder = TcpForwarder.Bind(0);
        forwarder.Start(echo.EndPoint);

        // RoundTrip shuts down its sending side before reading: the echo server only finishes on end of stream.
        var answer = await RoundTrip(forwarder.Port, "ping"u8.ToArray());

        Assert.Equal("ping"u8.ToArray(), answer);
    }

    [Fact]
    public async Task Dispose_cuts_open_connections_and_frees_the_port()
    {
        await using var echo = EchoServer.Start();
        var forwarder = TcpForwarder.Bind(0);
        forwarder.Start(echo.EndPoint);
        var port = forwarder.Port;
        using var idle = new TcpClient();
        await idle.ConnectAsync(IPAddress.Loopback, port);
        await WaitUntil(() => forwarder.OpenConnections == 1);

        await forwarder.DisposeAsync();

        Assert.Equal(0, forwarder.OpenConnections);
        Assert.Equal(0, await idle.GetStream().ReadAsync(new byte[1]));
        using var rebound = new TcpListener(IPAddress.Loopback, port);
        rebound.Start();
    }

    [Fact]
    public async Task A_target_that_is_gone_closes_the_client_connection()
    {
        int deadPort;
        using (var gone = new TcpListener(IPAddress.Loopback, 0))
        {
            gone.Start();
            deadPort = ((IPEndPoint)gone.LocalEndpoint).Port;
        }

        await using var forwarder = TcpForwarder.Bind(0);
        forwarder.Start(new IPEndPoint(IPAddress.Loopback, deadPort));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, forwarder.Port);

        var read = await ReadOrReset(client.GetStream());

        Assert.Equal(0, read);
        await WaitUntil(() => forwarder.OpenConnections == 0);
    }

    private static async Task<int> ReadOrReset(NetworkStream stream)
    {
        try
        {
            return await stream.ReadAsync(new byte[1]);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static async Task<byte[]> RoundTrip(int port, byte[] payload)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(payload);
        client.Client.Shutdown(SocketShutdown.Send);
        using var answer = new MemoryStream();
        await stream.CopyToAsync(answer);
        return answer.ToArray();
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>Echoes each connection's bytes and closes it when the client has finished sending.</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly TcpListener listener;
        private readonly Task loop;

        private EchoServer(TcpListener listener)
        {
            this.listener = listener;
            loop = Task.Run(AcceptAsync);
        }

        public IPEndPoint EndPoint => (IPEndPoint)listener.LocalEndpoint;

        public static EchoServer Start()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start(512);
            return new EchoServer(listener);
        }

        public async ValueTask DisposeAsync()
        {
            listener.Stop();
            await loop;
        }

        private async Task AcceptAsync()
        {
            var connections = new List<Task>();
            try
            {
                while (true)
                {
                    var client = await listener.AcceptTcpClientAsync();
                    connections.Add(EchoAsync(client));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                // Stopped; InvalidOperationException ("Not listening") when the stop came before this accept began.
            }

            await Task.WhenAll(connections);
        }

        private static async Task EchoAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    await stream.CopyToAsync(stream);
                }
                catch (IOException)
                {
                    // The forwarder cut the connection.
                }
            }
        }
    }
}
