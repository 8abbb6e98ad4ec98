using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>A message from <see cref="KafkaConsumer.CommittableSource{TKey,TValue}"/>: the record plus its committable offset.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
public sealed class CommittableMessage<TKey, TValue> : ICommittable
{
    private readonly ConsumerHandle _consumer;
    private readonly long _sequence;

    internal CommittableMessage(ConsumeResult<TKey, TValue> record, ConsumerHandle consumer, long sequence)
    {
        Record = record;
        _consumer = consumer;
        _sequence = sequence;
    }

    /// <summary>The consumed record (topic, partition, offset, key, value, headers, timestamp).</summary>
    public ConsumeResult<TKey, TValue> Record { get; }

    /// <summary>Just the committable position, without the payload (to pass on after transforming the message).</summary>
    public CommittableOffset Offset => new(_consumer, NextOffset, _sequence);

    /// <inheritdoc />
    public TopicPartitionOffset NextOffset => new(Record.TopicPartition, Record.Offset + 1);

    ConsumerHandle ICommittable.Consumer => _consumer;

    string ICommittable.Topic => Record.Topic;

    int ICommittable.Partition => Record.Partition.Value;

    long ICommittable.Next => Record.Offset.Value + 1;

    long ICommittable.Sequence => _sequence;
}
