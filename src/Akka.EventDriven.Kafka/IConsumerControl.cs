using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

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
