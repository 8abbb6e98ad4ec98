using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>How a <see cref="Committer"/> batches commits.</summary>
/// <param name="MaxBatch">Commit after this many offsets (default 1000).</param>
/// <param name="MaxInterval">Commit at least this often while offsets are waiting (default 1 s).</param>
public sealed record CommitterSettings(int MaxBatch = 1000, TimeSpan? MaxInterval = null)
{
    internal TimeSpan Interval => MaxInterval ?? TimeSpan.FromSeconds(1);

    /// <summary>The committer settings of consumer settings (<c>commit-batch-size</c>, <c>commit-interval</c>).</summary>
    public static CommitterSettings From<TKey, TValue>(KafkaConsumerSettings<TKey, TValue> settings) =>
        new(settings.CommitBatchSize, settings.CommitInterval);
}

/// <summary>
/// Commits the offsets of processed messages (from <see cref="KafkaConsumer.CommittableSource{TKey,TValue}"/>) in
/// batches: per partition the highest offset, after <see cref="CommitterSettings.MaxBatch"/> messages or
/// <see cref="CommitterSettings.MaxInterval"/>, and once more when the stream completes (graceful shutdown commits
/// everything processed). Put it at the end of the pipeline, after processing: at-least-once.
/// <para><b>Backpressures when</b> a commit is in progress (commits are synchronous round trips to the group
/// coordinator). <b>Completes when</b> upstream completes and the final commit is made.</para>
/// </summary>
public static class Committer
{
    /// <summary>A sink that commits; its task completes after the final commit (or fails with a commit error).</summary>
    public static Sink<ICommittable, Task<Done>> Sink(CommitterSettings? settings = null) =>
        Akka.Streams.Dsl.Sink.FromGraph(new CommitterSink(settings ?? new CommitterSettings()));

    /// <summary>A sink for a specific committable type (so a flow of <see cref="CommittableMessage{TKey,TValue}"/>
    /// can end in it without a cast).</summary>
    public static Sink<T, Task<Done>> Sink<T>(CommitterSettings? settings = null) where T : ICommittable =>
        Flow.Create<T>().Select(x => (ICommittable)x).ToMaterialized(Sink(settings), Keep.Right);
}

internal sealed class CommitterSink : GraphStageWithMaterializedValue<SinkShape<ICommittable>, Task<Done>>
{
    private readonly CommitterSettings _settings;
    private readonly Inlet<ICommittable> _in = new("Committer.in");

    public CommitterSink(CommitterSettings settings)
    {
        if (settings.MaxBatch <= 0) throw new ArgumentOutOfRangeException(nameof(settings), "MaxBatch must be positive.");
        _settings = settings;
        Shape = new SinkShape<ICommittable>(_in);
    }

    public override SinkShape<ICommittable> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("kafka-committer");

    public override ILogicAndMaterializedValue<Task<Done>> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var done = new TaskCompletionSource<Done>(TaskCreationOptions.RunContinuationsAsynchronously);
        return new LogicAndMaterializedValue<Task<Done>>(new Logic(this, done), done.Task);
    }

    private sealed class Logic : TimerGraphStageLogic, IInHandler
    {
        private readonly CommitterSink _stage;
        private readonly TaskCompletionSource<Done> _done;
        private readonly HashSet<ConsumerHandle> _attached = new();
        // Highest next-offset per (consumer, topic, partition) since the last commit. The common case (one consumer,
        // one topic) costs an array store per message: no allocation, no hashing.
        private readonly Dictionary<(ConsumerHandle, string), long[]> _batch = new();
        private ConsumerHandle? _lastHandle;
        private string? _lastTopic;
        private long[] _lastOffsets = [];
        private int _count;

        public Logic(CommitterSink stage, TaskCompletionSource<Done> done) : base(stage.Shape)
        {
            _stage = stage;
            _done = done;
            SetHandler(stage._in, this);
        }

        public override void PreStart()
        {
            ScheduleRepeatedly("commit", _stage._settings.Interval);
            Pull(_stage._in);
        }

        public void OnPush()
        {
            var c = Grab(_stage._in);
            var handle = c.Consumer;
            var topic = c.Topic;
            if (!ReferenceEquals(handle, _lastHandle) || !string.Equals(topic, _lastTopic, StringComparison.Ordinal))
            {
                if (_attached.Add(handle)) handle.AttachCommitter();
                if (!_batch.TryGetValue((handle, topic), out var offsets)) _batch[(handle, topic)] = offsets = NewSlots(0);
                (_lastHandle, _lastTopic, _lastOffsets) = (handle, topic, offsets);
            }
            var partition = c.Partition;
            if (partition >= _lastOffsets.Length)
            {
                var grown = NewSlots(partition + 1);
                _lastOffsets.CopyTo(grown, 0);
                _batch[(handle, topic)] = _lastOffsets = grown;
            }
            _lastOffsets[partition] = c.Next;    // offsets of a partition arrive in order
            if (++_count >= _stage._settings.MaxBatch) CommitBatch();
            Pull(_stage._in);
        }

        private static long[] NewSlots(int partitions)
        {
            var slots = new long[Math.Max(partitions, 16)];
            Array.Fill(slots, -1L);
            return slots;
        }

        public void OnUpstreamFinish()
        {
            CommitBatch();
            foreach (var h in _attached) h.CommitterDone();
            _attached.Clear();
            _done.TrySetResult(Done.Instance);
            CompleteStage();
        }

        public void OnUpstreamFailure(Exception e)
        {
            // What was processed before the failure is still committed.
            try
            {
                CommitBatch();
            }
            catch (Exception)
            {
                // The original failure is what the caller needs to see.
            }
            foreach (var h in _attached) h.CommitterDone();
            _attached.Clear();
            _done.TrySetException(e);
            FailStage(e);
        }

        protected override void OnTimer(object timerKey) => CommitBatch();

        private void CommitBatch()
        {
            if (_count == 0) return;
            _count = 0;
            foreach (var handle in _attached)
            {
                List<TopicPartitionOffset>? list = null;
                foreach (var ((h, topic), offsets) in _batch)
                {
                    if (!ReferenceEquals(h, handle)) continue;
                    for (var p = 0; p < offsets.Length; p++)
                    {
                        if (offsets[p] < 0) continue;
                        (list ??= new()).Add(new TopicPartitionOffset(topic, new Partition(p), new Offset(offsets[p])));
                        offsets[p] = -1;
                    }
                }
                if (list is null) continue;
                handle.Pending(list);
                handle.Commit(list);
            }
        }

        public override void PostStop()
        {
            foreach (var h in _attached) h.CommitterDone();
            _done.TrySetException(new AbruptStageTerminationException(this));
        }
    }
}
