using System.Text;
using System.Text.Json;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>Journal rows of a bus log that this node cannot read (written by a newer version, or damaged). They travel to
/// the member as an envelope marked with <see cref="Header"/>, and its handler runner dead-letters them instead of calling
/// the handler: an unreadable message is never acknowledged without a trace.</summary>
internal static class UnreadableEntries
{
    /// <summary>Marks an envelope that stands for an unreadable log entry; the value is the error. Reserved: publishers
    /// cannot set headers starting with <see cref="ReservedPrefix"/>.</summary>
    public const string Header = "x-bus-unreadable";

    /// <summary>Set to <c>base64</c> when the dead letter's payload is the entry's raw bytes in base64.</summary>
    public const string EncodingHeader = "x-bus-unreadable-encoding";

    /// <summary>Header names reserved for the bus.</summary>
    public const string ReservedPrefix = "x-bus-";

    /// <summary>The envelope that carries an unreadable entry to the dead-letter queue. When the row is still the JSON of
    /// an envelope (a newer envelope version, say), its message id, type and payload are kept, so a replay delivers the
    /// original message; otherwise the raw bytes are kept in base64.</summary>
    public static BusEnvelope Envelope(string logId, long seq, byte[] payload, string manifest, string error)
    {
        var why = $"Undeserializable log entry {seq} of '{logId}' ({manifest}): {error}";
        try
        {
            using var doc = JsonDocument.Parse(payload);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && Find(doc.RootElement, "data") is { ValueKind: JsonValueKind.Object } data
                && Find(data, "id") is { ValueKind: JsonValueKind.String } id && Find(data, "type") is { ValueKind: JsonValueKind.String } type
                && Find(data, "data") is { } body)
            {
                var headers = new Dictionary<string, string>();
                if (Find(data, "headers") is { ValueKind: JsonValueKind.Object } h)
                    foreach (var p in h.EnumerateObject())
                        if (p.Value.ValueKind == JsonValueKind.String) headers[p.Name] = p.Value.GetString()!;
                headers[Header] = why;
                var ticks = Find(data, "publishedAtTicks") is { ValueKind: JsonValueKind.Number } t && t.TryGetInt64(out var v) ? v : DateTime.UtcNow.Ticks;
                var topic = Find(data, "topic") is { ValueKind: JsonValueKind.String } tp ? tp.GetString()! : TopicOf(logId);
                var correlation = Find(data, "correlationId") is { ValueKind: JsonValueKind.String } c ? c.GetString() : null;
                return new BusEnvelope(id.GetString()!, topic, type.GetString()!, Encoding.UTF8.GetBytes(body.GetRawText()), ticks, correlation, headers);
            }
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            // not JSON at all: keep the raw bytes
        }
        return new BusEnvelope($"{logId}@{seq}", TopicOf(logId), manifest, Encoding.ASCII.GetBytes(Convert.ToBase64String(payload)),
            DateTime.UtcNow.Ticks, null, new Dictionary<string, string> { [Header] = why, [EncodingHeader] = "base64" });
    }

    /// <summary>The topic or queue a log belongs to (<c>t:topic#partition</c> or <c>q:queue</c>).</summary>
    private static string TopicOf(string logId)
    {
        var name = logId.Length > 2 ? logId[2..] : logId;
        var hash = name.LastIndexOf('#');
        return BusNames.IsQueueLog(logId) || hash < 0 ? name : name[..hash];
    }

    private static JsonElement? Find(JsonElement obj, string name)
    {
        foreach (var p in obj.EnumerateObject())
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) return p.Value;
        return null;
    }
}
