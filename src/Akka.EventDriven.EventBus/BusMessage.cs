namespace Akka.EventDriven.EventBus;

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
