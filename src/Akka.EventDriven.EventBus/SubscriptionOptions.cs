namespace Akka.EventDriven.EventBus;

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
