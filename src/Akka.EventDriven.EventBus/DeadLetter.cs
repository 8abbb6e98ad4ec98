namespace Akka.EventDriven.EventBus;

/// <summary>A message that failed for good, with why.</summary>
/// <param name="Id">The dead letter's id in its queue (for replay).</param>
/// <param name="Queue">The dead-letter queue.</param>
/// <param name="MessageId">The original message id.</param>
/// <param name="Source">What kind of subscription gave up on it.</param>
/// <param name="OriginalTopic">The topic or queue it was published to.</param>
/// <param name="Type">Its stable type name.</param>
/// <param name="Json">The payload's JSON.</param>
/// <param name="PublishedAt">When it was published.</param>
/// <param name="CorrelationId">Its correlation id.</param>
/// <param name="Headers">Its headers.</param>
/// <param name="Reason">The last failure (exception type and message).</param>
/// <param name="Attempts">Handler attempts made.</param>
/// <param name="Subscriber">The subscription that gave up (topic/group).</param>
/// <param name="DeadLetteredAt">When it was dead-lettered.</param>
public sealed record DeadLetter(
    long Id, string Queue, string MessageId, DeadLetterSource Source, string OriginalTopic, string Type, string Json,
    DateTimeOffset PublishedAt, string? CorrelationId, IReadOnlyDictionary<string, string> Headers, string Reason,
    int Attempts, string Subscriber, DateTimeOffset DeadLetteredAt);
