using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>How a <see cref="Committer"/> batches commits.</summary>
/// <param name="MaxBatch">Commit after this many offsets (default 1000).</param>
/// <param name="MaxInterval">Commit at least this often while offsets are waiting (default 1 s).</param>
/// <param name="MaxHeldBack">How many processed messages a partition may hold behind one that has not reached the
/// committer before the committer fails (default 100,000): a message that never arrives (filtered out, dropped under
/// Resume supervision) keeps its partition's commit where it is, and without a bound what waits behind it would grow
/// forever.</param>
public sealed record CommitterSettings(int MaxBatch = 1000, TimeSpan? MaxInterval = null, int MaxHeldBack = OffsetTracker.DefaultMaxHeldBack)
{
    internal TimeSpan Interval => MaxInterval ?? TimeSpan.FromSeconds(1);

    /// <summary>The committer settings of consumer settings (<c>commit-batch-size</c>, <c>commit-interval</c>).</summary>
    public static CommitterSettings From<TKey, TValue>(KafkaConsumerSettings<TKey, TValue> settings) =>
        new(settings.CommitBatchSize, settings.CommitInterval);
}
