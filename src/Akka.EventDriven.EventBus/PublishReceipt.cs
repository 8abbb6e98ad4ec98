namespace Akka.EventDriven.EventBus;

/// <summary>What a publish returned.</summary>
/// <param name="MessageId">The message id.</param>
/// <param name="Partition">Durable topics: the partition it was journaled to.</param>
/// <param name="Sequence">Durable topics and queues: its position in the partition or queue (1-based).</param>
public sealed record PublishReceipt(string MessageId, int? Partition = null, long? Sequence = null);
