using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>
/// One Confluent consumer shared by a source stage (which polls it) and committers (which commit through it). Calls
/// are serialized by a lock (Confluent's consumer is not meant for concurrent use); the consumer closes when the
/// source has stopped and the committer is done, or when the stop timeout passes.
/// </summary>
internal abstract class ConsumerHandle
{
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    protected readonly object Gate = new();
    private Dictionary<TopicPartition, TopicPartitionOffset>? _pendingForRevoke;

    public Task Closed => _closed.Task;

    public bool IsClosed { get; private set; }

    protected abstract void CommitCore(IReadOnlyList<TopicPartitionOffset> offsets);

    protected abstract void CloseCore();

    /// <summary>The consumer's group metadata, for offsets sent in a producer transaction.</summary>
    public abstract IConsumerGroupMetadata? GroupMetadata { get; }

    /// <summary>Commits <paramref name="offsets"/> (the highest per partition). Offsets for a closed consumer are
    /// dropped (the group resumes from the last commit: at-least-once).</summary>
    public bool Commit(IReadOnlyList<TopicPartitionOffset> offsets)
    {
        lock (Gate)
        {
            if (IsClosed || offsets.Count == 0) return false;
            CommitCore(offsets);
            return true;
        }
    }

    /// <summary>Offsets handed to a committer but not committed yet, so a rebalance can commit them before the
    /// partitions move (called by the committer per batch boundary, under no lock of its own).</summary>
    public void Pending(IEnumerable<TopicPartitionOffset> offsets)
    {
        lock (Gate)
        {
            _pendingForRevoke ??= new();
            foreach (var o in offsets) _pendingForRevoke[o.TopicPartition] = o;
        }
    }

    /// <summary>Called inside a poll (the lock held) when partitions are revoked.</summary>
    protected void CommitPendingFor(IEnumerable<TopicPartitionOffset> revoked)
    {
        if (_pendingForRevoke is null) return;
        var commit = new List<TopicPartitionOffset>();
        foreach (var r in revoked)
            if (_pendingForRevoke.Remove(r.TopicPartition, out var o)) commit.Add(o);
        if (commit.Count == 0) return;
        try
        {
            CommitCore(commit);
        }
        catch (KafkaException)
        {
            // The partitions are gone already; the next owner re-reads from the last commit (at-least-once).
        }
    }

    private int _committers;
    private bool _sourceStopped;

    /// <summary>A committer saw its first offset of this consumer: the consumer stays open for its final commit.</summary>
    public void AttachCommitter()
    {
        lock (Gate) _committers++;
    }

    /// <summary>A committer made its final commit.</summary>
    public void CommitterDone()
    {
        bool close;
        lock (Gate)
        {
            _committers--;
            close = _sourceStopped && _committers <= 0;
        }
        if (close) Close();
    }

    /// <summary>The source stopped: close now if no committer is attached, else after its final commit or the timeout.</summary>
    public void SourceStopped(TimeSpan timeout)
    {
        bool close;
        lock (Gate)
        {
            _sourceStopped = true;
            close = _committers <= 0;
        }
        if (close) _ = Task.Run(Close);
        else _ = Task.Delay(timeout).ContinueWith(_ => Close(), TaskScheduler.Default);
    }

    public void Close()
    {
        lock (Gate)
        {
            if (IsClosed) return;
            IsClosed = true;
            try
            {
                CloseCore();
            }
            finally
            {
                _closed.TrySetResult();
            }
        }
    }
}

internal sealed class ConsumerHandle<TKey, TValue> : ConsumerHandle
{
    private readonly IConsumer<TKey, TValue> _consumer;
    private volatile IReadOnlyList<TopicPartition> _assignment = Array.Empty<TopicPartition>();

    public ConsumerHandle(KafkaConsumerSettings<TKey, TValue> settings, IReadOnlyCollection<string> topics, bool manualCommit)
    {
        // Rebalance callbacks run inside Consume, on the polling thread, with the lock held.
        _consumer = settings.Build(manualCommit,
            (_, assigned) => _assignment = _assignment.Union(assigned).ToList(),
            (_, revoked) =>
            {
                if (manualCommit) CommitPendingFor(revoked);
                var gone = revoked.Select(r => r.TopicPartition).ToHashSet();
                _assignment = _assignment.Where(p => !gone.Contains(p)).ToList();
            });
        _consumer.Subscribe(topics);
    }

    public IConsumer<TKey, TValue> Consumer => _consumer;

    public IReadOnlyList<TopicPartition> Assignment => _assignment;

    /// <summary>A message if one arrives within <paramref name="timeout"/> (zero: only what is buffered).</summary>
    public ConsumeResult<TKey, TValue>? Poll(TimeSpan timeout)
    {
        lock (Gate)
        {
            if (IsClosed) return null;
            var result = _consumer.Consume(timeout);
            return result is { IsPartitionEOF: false } ? result : null;
        }
    }

    protected override void CommitCore(IReadOnlyList<TopicPartitionOffset> offsets) => _consumer.Commit(offsets);

    public override IConsumerGroupMetadata? GroupMetadata
    {
        get
        {
            lock (Gate) return IsClosed ? null : _consumer.ConsumerGroupMetadata;
        }
    }

    protected override void CloseCore()
    {
        try
        {
            _consumer.Close();
        }
        finally
        {
            _consumer.Dispose();
        }
    }
}
