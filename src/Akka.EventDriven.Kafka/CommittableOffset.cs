using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>A committable position without its message.</summary>
public sealed class CommittableOffset : ICommittable
{
    private readonly ConsumerHandle _consumer;
    private readonly long _sequence;

    internal CommittableOffset(ConsumerHandle consumer, TopicPartitionOffset nextOffset, long sequence)
    {
        _consumer = consumer;
        NextOffset = nextOffset;
        _sequence = sequence;
    }

    /// <inheritdoc />
    public TopicPartitionOffset NextOffset { get; }

    ConsumerHandle ICommittable.Consumer => _consumer;

    string ICommittable.Topic => NextOffset.Topic;

    int ICommittable.Partition => NextOffset.Partition.Value;

    long ICommittable.Next => NextOffset.Offset.Value;

    long ICommittable.Sequence => _sequence;
}
