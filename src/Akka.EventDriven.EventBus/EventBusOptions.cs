using System.Text;

namespace Akka.EventDriven.EventBus;

/// <summary>
/// What <see cref="EventBusHostingExtensions.WithEventBus"/> wires. Every null property keeps the value of the
/// environment file or, failing that, the bus's reference.conf (<c>akka.event-driven.bus</c>).
/// </summary>
public sealed class EventBusOptions
{
    /// <summary>Host the durable parts (journaled topic and queue logs, durable consumers) on this node, so durable
    /// consumers spread over every node that does. False: this node uses the fast path and request-reply, and durable
    /// parts start only on its first durable use. Default true.</summary>
    public bool HostDurableConsumers { get; set; } = true;

    /// <summary>Largest serialized message accepted by a publish (<c>max-message-bytes</c>). Default 1 MiB.</summary>
    public int? MaxMessageBytes { get; set; }

    /// <summary>Retries of a failing handler before its message is dead-lettered (<c>retry.max-retries</c>). Default 3.</summary>
    public int? MaxRetries { get; set; }

    /// <summary>Where a subscription without its own dead-letter queue sends poison messages
    /// (<c>default-dead-letter-queue</c>). Default <c>dead-letters</c>.</summary>
    public string? DefaultDeadLetterQueue { get; set; }

    /// <summary>Partitions of a durable topic unless the topic names its own (<c>durable.partitions</c>). Default 1.</summary>
    public int? DurablePartitions { get; set; }

    /// <summary>Timeout of a request-reply call unless the call names its own (<c>request-timeout</c>). Default 10 s.</summary>
    public TimeSpan? RequestTimeout { get; set; }

    internal string ToHocon()
    {
        var hocon = new StringBuilder("akka.event-driven.bus {\n");
        if (MaxMessageBytes is { } m) hocon.Append("  max-message-bytes = ").Append(m).Append('\n');
        if (MaxRetries is { } r) hocon.Append("  retry.max-retries = ").Append(r).Append('\n');
        if (DefaultDeadLetterQueue is { } q) hocon.Append("  default-dead-letter-queue = ").Append(HoconText.Quote(q)).Append('\n');
        if (DurablePartitions is { } p) hocon.Append("  durable.partitions = ").Append(p).Append('\n');
        if (RequestTimeout is { } t) hocon.Append("  request-timeout = ").Append(HoconText.Duration(t)).Append('\n');
        return hocon.Append("}\n").ToString();
    }
}
