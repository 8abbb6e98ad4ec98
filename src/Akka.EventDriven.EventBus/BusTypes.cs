namespace Akka.EventDriven.EventBus;

/// <summary>What a subscription promises about its handler.</summary>
public enum DeliveryGuarantee
{
    /// <summary>A failing handler is not retried: the message goes straight to the dead-letter queue.</summary>
    AtMostOnce,

    /// <summary>A failing handler is retried up to <see cref="SubscriptionOptions.MaxRetries"/> times with exponential
    /// backoff, then the message goes to the dead-letter queue.</summary>
    AtLeastOnce,
}

/// <summary>What a fast-path subscriber does when its bounded buffer is full (a slow handler never makes memory grow
/// without bound). Every dropped message is counted in <see cref="BusMetricsSnapshot.MessagesDropped"/> and logged.</summary>
public enum OverflowPolicy
{
    /// <summary>Drop the message that just arrived (default).</summary>
    DropNewest,

    /// <summary>Drop the oldest buffered message to make room.</summary>
    DropOldest,
}

/// <summary>How a message is published.</summary>
public sealed record PublishOptions
{
    /// <summary>Journal the message before acknowledging the publish (a durable topic):
    /// durable subscriptions receive it at least once, even if they were down when it was published.</summary>
    public bool Persistent { get; init; }

    /// <summary>Durable topics: messages with the same key go to the same partition and keep their order.
    /// Default: the message id (spread over partitions).</summary>
    public string? PartitionKey { get; init; }

    /// <summary>The message id (default: a new GUID). Subscriptions with deduplication handle an id once.</summary>
    public string? MessageId { get; init; }

    /// <summary>Correlation id carried to handlers.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>Free-form headers carried to handlers.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
}

/// <summary>How a subscription (topic, durable topic or queue) handles messages.</summary>
public sealed record SubscriptionOptions
{
    /// <summary>Group name. On a topic, each message goes to one member of each group (competing consumers).
    /// On a durable topic, the group names the subscription whose offset is stored ("default" when null).</summary>
    public string? Group { get; init; }

    /// <summary>Subscribe to the durable (journaled) messages of the topic instead of the fast path: every message is
    /// received at least once, in order per partition, including those published while the subscription was down.</summary>
    public bool Durable { get; init; }

    /// <summary>Retry failing handlers (at-least-once, default) or not (at-most-once).</summary>
    public DeliveryGuarantee Guarantee { get; init; } = DeliveryGuarantee.AtLeastOnce;

    /// <summary>Retries after the first failed attempt (default from <c>akka.event-driven.bus.retry.max-retries</c>).</summary>
    public int? MaxRetries { get; init; }

    /// <summary>Delay before the first retry; doubled on each further retry (default 100 ms).</summary>
    public TimeSpan? RetryBackoff { get; init; }

    /// <summary>Longest delay between retries (default 10 s).</summary>
    public TimeSpan? MaxRetryBackoff { get; init; }

    /// <summary>Where messages go that failed for good (default <c>akka.event-driven.bus.default-dead-letter-queue</c>).</summary>
    public string? DeadLetterQueue { get; init; }

    /// <summary>When set, a message id already handled successfully within this window is not handled again.</summary>
    public TimeSpan? DeduplicationWindow { get; init; }

    /// <summary>Fast path only: buffered messages before <see cref="Overflow"/> applies (default 1024).</summary>
    public int? BufferSize { get; init; }

    /// <summary>Fast path only: what happens when the buffer is full.</summary>
    public OverflowPolicy Overflow { get; init; } = OverflowPolicy.DropNewest;

    /// <summary>Longest a handler attempt may run before it counts as failed (default: no limit on the fast path,
    /// <c>akka.event-driven.bus.durable.handler-timeout</c> on durable topics and queues, half the visibility timeout).</summary>
    public TimeSpan? HandlerTimeout { get; init; }
}

/// <summary>A message handed to a handler.</summary>
/// <typeparam name="T">The payload type.</typeparam>
/// <param name="Id">The message id.</param>
/// <param name="Topic">The topic (or queue) it was published to.</param>
/// <param name="Payload">The message.</param>
/// <param name="PublishedAt">When it was published.</param>
/// <param name="CorrelationId">Correlation id given at publish.</param>
/// <param name="Headers">Headers given at publish.</param>
/// <param name="Attempt">1 on the first attempt, 2 on the first retry, and so on.</param>
/// <param name="Delivery">1 on the first delivery; more when a durable message is redelivered (a subscriber left, died or
/// went silent). Counted in memory by the consumer: if the consumer itself moves to another node, counting restarts.</param>
/// <param name="Sequence">Durable topics and queues: the message's position in its partition (1-based).</param>
/// <param name="Partition">Durable topics: the partition.</param>
public sealed record BusMessage<T>(
    string Id,
    string Topic,
    T Payload,
    DateTimeOffset PublishedAt,
    string? CorrelationId,
    IReadOnlyDictionary<string, string> Headers,
    int Attempt,
    int Delivery,
    long? Sequence,
    int? Partition)
{
    /// <summary>Set by a durable subscription that lets its handler defer the acknowledgement (the committable stream
    /// sources): the handler hands it the task that completes when the message is processed.</summary>
    internal Internal.DeferredAck? Deferral { get; init; }
}

/// <summary>What a publish returned.</summary>
/// <param name="MessageId">The message id.</param>
/// <param name="Partition">Durable topics: the partition it was journaled to.</param>
/// <param name="Sequence">Durable topics and queues: its position in the partition or queue (1-based).</param>
public sealed record PublishReceipt(string MessageId, int? Partition = null, long? Sequence = null);

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

/// <summary>A request handler threw: the caller gets this instead of a timeout.</summary>
public sealed class RequestFailedException(string subject, string errorType, string error)
    : Exception($"The handler of '{subject}' failed: {errorType}: {error}")
{
    /// <summary>The request subject.</summary>
    public string Subject { get; } = subject;
    /// <summary>The CLR type name of the handler's exception.</summary>
    public string ErrorType { get; } = errorType;
    /// <summary>The handler's exception message.</summary>
    public string Error { get; } = error;
}

/// <summary>A live subscription; dispose it to unsubscribe (in-flight durable deliveries are redelivered elsewhere).</summary>
public interface IBusSubscription : IAsyncDisposable
{
    /// <summary>The topic, pattern, queue or subject subscribed to.</summary>
    string Topic { get; }

    /// <summary>The group, if any.</summary>
    string? Group { get; }
}
