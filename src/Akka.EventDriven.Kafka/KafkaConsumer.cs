using Akka.Streams.Dsl;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>A processed message's position, for <see cref="Committer"/>: committing it commits everything before it
/// in its partition.</summary>
public interface ICommittable
{
    /// <summary>The partition and the offset to commit (the message's offset + 1: the next one to read).</summary>
    TopicPartitionOffset NextOffset { get; }

    /// <summary>The consumer that read the message (commits go through it).</summary>
    internal ConsumerHandle Consumer { get; }

    /// <summary>The topic.</summary>
    internal string Topic { get; }

    /// <summary>The partition number.</summary>
    internal int Partition { get; }

    /// <summary>The offset after the message.</summary>
    internal long Next { get; }

    /// <summary>The message's place among those its source emitted from its partition (0, 1, 2, ...): the committer
    /// commits an offset only when every message emitted before it reached the committer, and offsets themselves have
    /// holes (compaction, transaction markers), so contiguity is counted over emissions, not offsets.</summary>
    internal long Sequence { get; }
}

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

/// <summary>Controls a running consumer source (its materialized value).</summary>
public interface IConsumerControl
{
    /// <summary>Stops emitting: the source completes, so downstream drains (a committer makes its final commit).
    /// The consumer closes once the committer is done, or after the stop timeout.</summary>
    void Stop();

    /// <summary>Completes when the consumer has closed (its final commit made, its group left).</summary>
    Task Closed { get; }

    /// <summary>The partitions assigned to this consumer now.</summary>
    IReadOnlyList<TopicPartition> Assignment { get; }
}

/// <summary>
/// Kafka consumer sources on Confluent.Kafka. Each materialization creates its own consumer, subscribes and closes it
/// when the source stops. Messages are read in the stage (a non-blocking poll while librdkafka has prefetched
/// data, a background poll of up to <see cref="KafkaConsumerSettings{TKey,TValue}.PollTimeout"/> otherwise), one per
/// downstream pull, so backpressure reaches the broker through librdkafka's bounded prefetch.
/// <para><b>Emits when</b> a message is available and downstream pulls. <b>Backpressures when</b> downstream
/// backpressures. <b>Completes when</b> <see cref="IConsumerControl.Stop"/> is called. <b>Cancels when</b> —
/// (a source); cancelling downstream stops and closes the consumer.</para>
/// </summary>
public static class KafkaConsumer
{
    /// <summary>
    /// Plain records, offsets handled by librdkafka's own settings (<c>enable.auto.commit</c>, default on: offsets are
    /// committed periodically whether or not processing finished — at-most-once after a crash; use
    /// <see cref="CommittableSource{TKey,TValue}"/> for at-least-once).
    /// </summary>
    public static Source<ConsumeResult<TKey, TValue>, IConsumerControl> PlainSource<TKey, TValue>(
        KafkaConsumerSettings<TKey, TValue> settings, params string[] topics) =>
        Source.FromGraph(new ConsumerStage<TKey, TValue, ConsumeResult<TKey, TValue>>(settings, topics, committable: false, static (r, _, _) => r));

    /// <summary>
    /// Records with committable offsets: auto-commit is off, and an offset is committed only when the message reaches
    /// a <see cref="Committer"/> (after processing), in batches — at-least-once: after a crash or restart the group
    /// resumes from the last commit, so only messages of the uncommitted batch are seen again. Partition-aware:
    /// per partition the committer commits the offset after the last message with no unprocessed message before it
    /// (messages may reach it out of order, e.g. after <c>SelectAsyncUnordered</c>; a message that never reaches it
    /// holds its partition's commit back, so every message must reach it: pass a filtered or dead-lettered message's
    /// <see cref="CommittableMessage{TKey,TValue}.Offset"/> on). When partitions are revoked in a rebalance the
    /// offsets already handed to the committer for them are committed first.
    /// </summary>
    public static Source<CommittableMessage<TKey, TValue>, IConsumerControl> CommittableSource<TKey, TValue>(
        KafkaConsumerSettings<TKey, TValue> settings, params string[] topics)
    {
        if (!settings.Properties.ContainsKey("group.id"))
            throw new ArgumentException("A committable source needs a consumer group (group.id / consumer.group-id).", nameof(settings));
        return Source.FromGraph(new ConsumerStage<TKey, TValue, CommittableMessage<TKey, TValue>>(settings, topics, committable: true,
            static (r, handle, sequence) => new CommittableMessage<TKey, TValue>(r, handle, sequence)));
    }

    /// <summary>
    /// The source of a consume-transform-produce pipeline ending in <see cref="Transactional.Sink{TKey,TValue}"/>: a
    /// committable source that reads only committed data (<c>isolation.level = read_committed</c>); its offsets are
    /// committed by the sink inside each producer transaction, never by a committer.
    /// </summary>
    public static Source<CommittableMessage<TKey, TValue>, IConsumerControl> TransactionalSource<TKey, TValue>(
        KafkaConsumerSettings<TKey, TValue> settings, params string[] topics) =>
        CommittableSource(settings.WithProperty("isolation.level", "read_committed"), topics);
}
