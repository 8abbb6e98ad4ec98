namespace Akka.EventDriven.EventBus;

/// <summary>A published message is larger than <c>akka.event-driven.bus.max-message-bytes</c>; nothing was sent or journaled.</summary>
public sealed class MessageTooLargeException(string topic, int size, int limit)
    : Exception($"Message for '{topic}' is {size} bytes, over the limit of {limit} bytes (akka.event-driven.bus.max-message-bytes).")
{
    /// <summary>The topic or queue.</summary>
    public string Topic { get; } = topic;
    /// <summary>Serialized size in bytes.</summary>
    public int Size { get; } = size;
    /// <summary>The limit in bytes.</summary>
    public int Limit { get; } = limit;
}
