using System.Net.Sockets;
using System.Text;

namespace IdentityGraph.Server.Tests.Support;

/// <summary>
/// HTTP/1.1 written byte for byte on a socket, so that a request target reaches the server exactly as an attacker spells
/// it: no client normalises case, percent-encoding or dot-segments on the way.
/// </summary>
public static class RawHttp
{
    public sealed record Response(int Status, string Head, string Body)
    {
        public string? Header(string name) => Head.Split("\r\n")
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2 && parts[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            .Select(parts => parts[1].Trim())
            .FirstOrDefault();
    }

    public static async Task<Response> SendAsync(Uri server, string method, string target, params (string Name, string Value)[] headers)
    {
        ArgumentNullException.ThrowIfNull(server);
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await client.ConnectAsync(server.Host, server.Port, timeout.Token);
        await using var stream = client.GetStream();
        var request = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n");
        foreach (var (name, value) in headers)
        {
            request.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (method is not ("GET" or "HEAD"))
        {
            request.Append("Content-Length: 0\r\n");
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.Append("\r\n").ToString()), timeout.Token);
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, timeout.Token);
        var text = Encoding.UTF8.GetString(received.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = split < 0 ? text : text[..split];
        var statusLine = head.Split("\r\n")[0].Split(' ');
        return new Response(statusLine.Length > 1 && int.TryParse(statusLine[1], out var status) ? status : 0, head, split < 0 ? "" : text[(split + 4)..]);
    }
}
