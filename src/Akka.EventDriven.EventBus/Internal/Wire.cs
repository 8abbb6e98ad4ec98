using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.EventDriven.Diagnostics;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>A published message on the wire and in the journal: the payload is kept as its UTF-8 JSON, named by its
/// stable type name, so routing never deserializes it and only registered types can ever be instantiated.</summary>
internal sealed record BusEnvelope(
    string Id,
    string Topic,
    string Type,
    [property: JsonConverter(typeof(RawJsonConverter))] byte[] Data,
    long PublishedAtTicks,
    string? CorrelationId = null,
    Dictionary<string, string>? Headers = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TraceParent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TraceState = null) : IBusWireMessage
{
    public DateTimeOffset PublishedAt => new(PublishedAtTicks, TimeSpan.Zero);

    /// <summary>The wire form, computed once: pub-sub serializes the same envelope for every remote subscriber node.</summary>
    [JsonIgnore]
    internal byte[]? Wire { get; set; }

    public static BusEnvelope Create(MessageTypeRegistry registry, string topic, object message, PublishOptions? options, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (options is not null) RejectNul(options);
        if (options?.MessageId is { } id && (string.IsNullOrWhiteSpace(id) || id.Length > 200))
            throw new ArgumentException("A message id must be 1-200 characters.", nameof(options));
        if (options?.CorrelationId is { Length: > 200 })
            throw new ArgumentException("A correlation id must be at most 200 characters.", nameof(options));
        if (options?.Headers is { } headers && headers.Sum(h => h.Key.Length + h.Value.Length) > 16 * 1024)
            throw new ArgumentException("Headers must be at most 16 KiB in total.", nameof(options));
        if (options?.Headers is { } named && named.Keys.FirstOrDefault(k => k.StartsWith(UnreadableEntries.ReservedPrefix, StringComparison.OrdinalIgnoreCase)) is { } reserved)
            throw new ArgumentException($"Header '{reserved}' is reserved: names starting with '{UnreadableEntries.ReservedPrefix}' belong to the bus.", nameof(options));
        var data = registry.Serialize(message, out var type); // throws UnregisteredMessageTypeException at publish time
        if (data.Length > maxBytes) throw new MessageTooLargeException(topic, data.Length, maxBytes);
        // The publisher's trace (its publish activity, or the caller's own) goes with the message to every delivery.
        var traceParent = EventDrivenTracing.CaptureCurrent(out var traceState);
        return new BusEnvelope(options?.MessageId ?? MessageIds.Next(), topic, type, data, DateTime.UtcNow.Ticks,
            options?.CorrelationId, options?.Headers is { Count: > 0 } h ? new Dictionary<string, string>(h) : null,
            traceParent, traceState);
    }

    /// <summary>PostgreSQL text cannot hold a NUL character: one in an id or header would make the message's dead-letter
    /// row (and other text columns downstream) fail for good, so it is refused before anything is sent or journaled.</summary>
    private static void RejectNul(PublishOptions options)
    {
        static void Check(string? value, string what)
        {
            if (value is not null && value.Contains('\0'))
                throw new ArgumentException($"The {what} contains a NUL character (\\0), which the bus does not accept.", "options");
        }
        Check(options.MessageId, "message id");
        Check(options.CorrelationId, "correlation id");
        Check(options.PartitionKey, "partition key");
        if (options.Headers is null) return;
        foreach (var (key, value) in options.Headers)
        {
            Check(key, "header name");
            Check(value, $"value of header '{key.Replace("\0", "\\0", StringComparison.Ordinal)}'");
        }
    }
}

/// <summary>Message ids: a random 64-bit prefix per process and a counter (unique across nodes and restarts with
/// overwhelming probability, and much cheaper than a GUID string per message).</summary>
internal static class MessageIds
{
    private static readonly string Prefix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()));
    private static long _counter;

    public static string Next()
    {
        var n = Interlocked.Increment(ref _counter);
        return string.Create(Prefix.Length + 1 + 16, n, static (span, value) =>
        {
            Prefix.AsSpan().CopyTo(span);
            span[Prefix.Length] = '-';
            value.TryFormat(span[(Prefix.Length + 1)..], out _, "x16");
        });
    }
}

/// <summary>Writes a byte[] holding UTF-8 JSON as that JSON (not base64), and reads it back as raw bytes.</summary>
internal sealed class RawJsonConverter : JsonConverter<byte[]>
{
    public override byte[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        return JsonSerializer.SerializeToUtf8Bytes(doc.RootElement);
    }

    public override void Write(Utf8JsonWriter writer, byte[] value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value, skipInputValidation: true);
}

/// <summary>Command of the journaled log of a durable topic partition or queue.</summary>
internal sealed record AppendToLog(BusEnvelope Message);

/// <summary>State of a log (its length).</summary>
internal sealed record BusLogState(long Count);

/// <summary>Pushed after a durable append so consumers read at once instead of at their next poll.</summary>
internal sealed record LogAppended(string LogId, long Sequence) : IBusWireMessage;

/// <summary>A subscriber (re-)registers with the consumer of a durable topic partition or queue; sent every heartbeat.</summary>
internal sealed record RegisterMember(string ConsumerId, IActorRef Member, int Prefetch) : IBusWireMessage;

/// <summary>A subscriber leaves; its unacknowledged deliveries are redelivered.</summary>
internal sealed record UnregisterMember(string ConsumerId, IActorRef Member) : IBusWireMessage;

/// <summary>A durable message handed to a subscriber.</summary>
internal sealed record Deliver(string ConsumerId, long Sequence, int DeliveryCount, BusEnvelope Message) : IBusWireMessage
{
    /// <summary>The consumer entity that sent it, set by the member on arrival (not on the wire). Acknowledgements go
    /// straight back to it rather than through the sharding region: a consumer being handed off to another node drains
    /// its in-flight deliveries first, and the region stops routing to it as soon as the hand-off begins.</summary>
    public IActorRef? From { get; init; }
}

/// <summary>A subscriber finished these deliveries (handled, or dead-lettered).</summary>
internal sealed record AckDeliveries(string ConsumerId, long[] Sequences) : IBusWireMessage;

/// <summary>A consumer being handed off asks a member to give back the deliveries it holds but has not started: those
/// go to the consumer's successor instead of waiting behind the member's other work (Kafka's cooperative revoke).</summary>
internal sealed record RevokeDeliveries(string ConsumerId, long[] Sequences) : IBusWireMessage;

/// <summary>The member's answer to <see cref="RevokeDeliveries"/>: these were not started and never will be here.</summary>
internal sealed record DeliveriesRevoked(string ConsumerId, long[] Sequences) : IBusWireMessage;

/// <summary>The answer to a request.</summary>
internal sealed record BusReply(bool Ok, string? Type, byte[]? Data, string? ErrorType, string? Error) : IBusWireMessage;
