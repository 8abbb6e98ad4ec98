using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Akka.EventDriven.Benchmarks;

/// <summary>
/// A load generator's HTTP/1.1 client, in the manner of wrk or bombardier: one keep-alive connection, one request in
/// flight, the request's bytes built once, the answer's status read and its body skipped (Content-Length or chunked).
/// It costs a fraction of <see cref="HttpClient"/>'s CPU, so that on a machine where the clients share the cores with
/// the server, the figure is the server's and not the client library's.
/// </summary>
public sealed class RawHttpClient : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawHttpClient(Socket socket) => _socket = socket;

    public static async Task<RawHttpClient> ConnectAsync(Uri address)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Parse(address.Host), address.Port);
        return new RawHttpClient(socket);
    }

    /// <summary>The bytes of one POST with a JSON body (built once per client and sent many times).</summary>
    public static byte[] Post(Uri address, string path, string json, params (string Name, string Value)[] headers)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var head = new StringBuilder()
            .Append("POST ").Append(path).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(address.Authority).Append("\r\n")
            .Append("Content-Type: application/json\r\n")
            .Append("Content-Length: ").Append(body.Length).Append("\r\n");
        foreach (var (name, value) in headers) head.Append(name).Append(": ").Append(value).Append("\r\n");
        head.Append("\r\n");
        return [.. Encoding.ASCII.GetBytes(head.ToString()), .. body];
    }

    /// <summary>Sends <paramref name="request"/> and reads the whole answer; returns its status code.</summary>
    public async Task<int> SendAsync(ReadOnlyMemory<byte> request)
    {
        for (var sent = 0; sent < request.Length;)
            sent += await _socket.SendAsync(request[sent..], SocketFlags.None);

        int headerEnd;
        while ((headerEnd = IndexOf("\r\n\r\n"u8, _start)) < 0) await FillAsync();
        // Parsed in place from the bytes, as a load generator does: no string per answer.
        var head = _buffer.AsSpan(_start, headerEnd - _start);
        if (head.Length < 12 || !head.StartsWith("HTTP/1."u8) || !TryDigits(head.Slice(9, 3), out var status))
            throw new InvalidOperationException($"Not an HTTP answer: {Encoding.ASCII.GetString(head)}");
        var length = Header(head, "content-length"u8, out var value) && TryDigits(value, out var n) ? n : -1;
        var chunked = length < 0 && Header(head, "transfer-encoding"u8, out value)
            && Encoding.ASCII.GetString(value).Contains("chunked", StringComparison.OrdinalIgnoreCase);
        _start = headerEnd + 4;

        if (length >= 0) await SkipAsync(length);
        else if (chunked)
        {
            while (true)
            {
                int lineEnd;
                while ((lineEnd = IndexOf("\r\n"u8, _start)) < 0) await FillAsync();
                var size = Convert.ToInt32(Encoding.ASCII.GetString(_buffer, _start, lineEnd - _start).Split(';')[0].Trim(), 16);
                _start = lineEnd + 2;
                await SkipAsync(size + 2); // the chunk and its CRLF (the last, empty chunk: just the final CRLF)
                if (size == 0) break;
            }
        }
        return status;
    }

    private static bool TryDigits(ReadOnlySpan<byte> digits, out int value)
    {
        value = 0;
        if (digits.IsEmpty) return false;
        foreach (var b in digits)
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
            value = value * 10 + (b - '0');
        }
        return true;
    }

    /// <summary>The trimmed value of the header <paramref name="lowerName"/> (given in lower case), compared
    /// case-insensitively, or false.</summary>
    private static bool Header(ReadOnlySpan<byte> head, ReadOnlySpan<byte> lowerName, out ReadOnlySpan<byte> value)
    {
        while (!head.IsEmpty)
        {
            var end = head.IndexOf("\r\n"u8);
            var line = end < 0 ? head : head[..end];
            head = end < 0 ? default : head[(end + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon != lowerName.Length) continue;
            var match = true;
            for (var i = 0; i < colon && match; i++) match = (line[i] | 0x20) == lowerName[i];
            if (!match) continue;
            value = line[(colon + 1)..].Trim(" \t"u8);
            return true;
        }
        value = default;
        return false;
    }

    private async Task SkipAsync(int count)
    {
        while (count > 0)
        {
            if (_start == _end) await FillAsync();
            var take = Math.Min(count, _end - _start);
            _start += take;
            count -= take;
        }
    }

    private int IndexOf(ReadOnlySpan<byte> pattern, int from)
    {
        var at = _buffer.AsSpan(from, _end - from).IndexOf(pattern);
        return at < 0 ? -1 : from + at;
    }

    private async Task FillAsync()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) throw new InvalidOperationException("An HTTP answer's head is larger than the client's buffer.");
        var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None);
        if (read == 0) throw new IOException("The server closed the connection.");
        _end += read;
    }

    public void Dispose() => _socket.Dispose();
}
