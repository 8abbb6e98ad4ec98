using System.Diagnostics.Metrics;

namespace Akka.EventDriven.EventBus;

/// <summary>The bus's metrics: counters of this node since it started, plus the depth of durable topics
/// and queues this node consumes.</summary>
/// <param name="MessagesPublished">Messages published from this node (fast path and durable).</param>
/// <param name="MessagesDelivered">Messages handled successfully by subscriptions on this node.</param>
/// <param name="ActiveSubscriptions">Live subscriptions on this node (topics, durable topics, queues, request handlers).</param>
/// <param name="MessagesDeadLettered">Messages sent to a dead-letter queue by subscriptions on this node.</param>
/// <param name="Retries">Handler retries on this node.</param>
/// <param name="MessagesDropped">Fast-path messages dropped: by a full subscriber buffer, or by <c>Publish</c> (no task)
/// while the pub-sub mediator was more than about 128k publishes behind.</param>
/// <param name="DuplicatesSkipped">Redelivered message ids skipped by deduplication.</param>
/// <param name="QueueDepth">Per durable consumer on this node (<c>queue</c> or <c>topic#partition/group</c>): messages
/// journaled but not yet acknowledged, as of the last refresh.</param>
public sealed record BusMetricsSnapshot(
    long MessagesPublished,
    long MessagesDelivered,
    int ActiveSubscriptions,
    long MessagesDeadLettered,
    long Retries,
    long MessagesDropped,
    long DuplicatesSkipped,
    IReadOnlyDictionary<string, long> QueueDepth)
{
    /// <summary>Durable deliveries the consumers on this node sent again because they were presumed lost (a member
    /// left, died, went silent, or did not acknowledge within the visibility timeout).</summary>
    public long Redeliveries { get; init; }

    /// <summary>Dead letters that could not be stored for a reason retrying cannot fix (the database refused the row);
    /// each is logged as an error with the message id.</summary>
    public long DeadLetterFailures { get; init; }

    /// <summary>Total lag of the durable subscriptions and queues on this node.</summary>
    public long SubscriptionLag => QueueDepth.Values.Sum();
}
