namespace Akka.EventDriven.EventBus;

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
