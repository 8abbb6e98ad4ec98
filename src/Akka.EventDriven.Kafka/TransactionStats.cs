using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>What a transactional sink has done (read at any time; counters only grow).</summary>
public sealed class TransactionStats
{
    private long _committed, _aborted, _messages;

    /// <summary>Transactions committed (each with its messages and the consumed offsets).</summary>
    public long CommittedTransactions => Interlocked.Read(ref _committed);

    /// <summary>Transactions aborted (on a failure, a fence, or an abrupt stop).</summary>
    public long AbortedTransactions => Interlocked.Read(ref _aborted);

    /// <summary>Messages in committed transactions.</summary>
    public long CommittedMessages => Interlocked.Read(ref _messages);

    /// <summary>Completes when the sink has committed its last transaction (fails with the failure that stopped it).</summary>
    public Task Completion => Done.Task;

    internal readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal void Committed(long messages)
    {
        Interlocked.Increment(ref _committed);
        Interlocked.Add(ref _messages, messages);
    }

    internal void Aborted() => Interlocked.Increment(ref _aborted);
}
