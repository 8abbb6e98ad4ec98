using Akka.Streams.Dsl;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

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
