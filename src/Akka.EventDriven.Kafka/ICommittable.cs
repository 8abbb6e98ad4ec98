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
