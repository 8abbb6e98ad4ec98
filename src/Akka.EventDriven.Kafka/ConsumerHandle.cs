using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>
/// One Confluent consumer shared by a source stage (which polls it) and committers (which commit through it).
/// librdkafka is thread-safe, so a poll, a commit and a metadata read may run at once (a commit must not wait for a
/// poll); closing excludes them all (disposing under a running call would crash). The consumer closes when the
/// source has stopped and the committer is done, or when the stop timeout passes.
/// </summary>
internal abstract class ConsumerHandle
{
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ReaderWriterLockSlim _use = new(LockRecursionPolicy.NoRecursion);
    private readonly object _state = new();
    private Dictionary<TopicPartition, TopicPartitionOffset>? _pendingForRevoke;
    private volatile bool _isClosed;

    public Task Closed => _closed.Task;

    public bool IsClosed => _isClosed;

    protected abstract void CommitCore(IReadOnlyList<TopicPartitionOffset> offsets);

    protected abstract void CloseCore();

    /// <summary>The consumer's group metadata, for offsets sent in a producer transaction.</summary>
    public abstract IConsumerGroupMetadata? GroupMetadata { get; }

    /// <summary>Enters a call that may run beside others; false once the consumer is closed.</summary>
    protected bool TryEnter()
    {
        _use.EnterReadLock();
        if (!_isClosed) return true;
        _use.ExitReadLock();
        return false;
    }

    protected void Exit() => _use.ExitReadLock();

    /// <summary>Commits <paramref name="offsets"/> (synchronously: call it off stream threads). Offsets for a closed
    /// consumer are dropped (the group resumes from the last commit: at-least-once).</summary>
    public bool Commit(IReadOnlyList<TopicPartitionOffset> offsets)
    {
        if (offsets.Count == 0 || !TryEnter()) return false;
        try
        {
            CommitCore(offsets);
            return true;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Offsets handed to a committer but not committed yet, so a rebalance can commit them before the
    /// partitions move (called by the committer per batch boundary).</summary>
    public void Pending(IEnumerable<TopicPartitionOffset> offsets)
    {
        lock (_state)
        {
            _pendingForRevoke ??= new();
            foreach (var o in offsets) _pendingForRevoke[o.TopicPartition] = o;
        }
    }

    /// <summary>Called inside a poll (or the close) when partitions are revoked.</summary>
    protected void CommitPendingFor(IEnumerable<TopicPartitionOffset> revoked)
    {
        var commit = new List<TopicPartitionOffset>();
        lock (_state)
        {
            if (_pendingForRevoke is null) return;
            foreach (var r in revoked)
                if (_pendingForRevoke.Remove(r.TopicPartition, out var o)) commit.Add(o);
        }
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
        lock (_state) _committers++;
    }

    /// <summary>A committer made its final commit. Closing waits for a running poll and leaves the group, so it runs
    /// off the caller's (stream) thread.</summary>
    public void CommitterDone()
    {
        bool close;
        lock (_state)
        {
            _committers--;
            close = _sourceStopped && _committers <= 0;
        }
        if (close) _ = Task.Run(Close);
    }

    /// <summary>The source stopped: close now if no committer is attached, else after its final commit or the timeout.</summary>
    public void SourceStopped(TimeSpan timeout)
    {
        bool close;
        lock (_state)
        {
            _sourceStopped = true;
            close = _committers <= 0;
        }
        if (close) _ = Task.Run(Close);
        else _ = Task.Delay(timeout).ContinueWith(_ => Close(), TaskScheduler.Default);
    }

    public void Close()
    {
        _use.EnterWriteLock();
        try
        {
            if (_isClosed) return;
            _isClosed = true;
            try
            {
                CloseCore();
            }
            finally
            {
                _closed.TrySetResult();
            }
        }
        finally
        {
            _use.ExitWriteLock();
        }
    }
}

internal sealed class ConsumerHandle<TKey, TValue> : ConsumerHandle
{
    private readonly IConsumer<TKey, TValue> _consumer;
    private volatile IReadOnlyList<TopicPartition> _assignment = Array.Empty<TopicPartition>();

    public ConsumerHandle(KafkaConsumerSettings<TKey, TValue> settings, IReadOnlyCollection<string> topics, bool manualCommit)
    {
        // Rebalance callbacks run inside Consume (or Close), on the calling thread.
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

    /// <summary>A message if one arrives within <paramref name="timeout"/> (zero: only what is buffered). A long
    /// timeout is waited in short slices, so closing never waits for more than one slice.</summary>
    public ConsumeResult<TKey, TValue>? Poll(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            if (!TryEnter()) return null;
            ConsumeResult<TKey, TValue>? result;
            try
            {
                var left = deadline - Environment.TickCount64;
                result = _consumer.Consume(TimeSpan.FromMilliseconds(Math.Clamp(left, 0, PollSliceMs)));
            }
            finally
            {
                Exit();
            }
            if (result is not null) return result.IsPartitionEOF ? null : result;
            if (deadline - Environment.TickCount64 <= 0) return null;
        }
    }

    private const long PollSliceMs = 100;

    protected override void CommitCore(IReadOnlyList<TopicPartitionOffset> offsets) => _consumer.Commit(offsets);

    public override IConsumerGroupMetadata? GroupMetadata
    {
        get
        {
            if (!TryEnter()) return null;
            try
            {
                return _consumer.ConsumerGroupMetadata;
            }
            finally
            {
                Exit();
            }
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
