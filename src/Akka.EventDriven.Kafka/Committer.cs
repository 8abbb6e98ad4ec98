using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>
/// Commits the offsets of processed messages (from <see cref="KafkaConsumer.CommittableSource{TKey,TValue}"/>) in
/// batches: per partition the offset after the last message with no unprocessed message before it (messages may
/// arrive out of order; one that never arrives holds its partition back, see
/// <see cref="KafkaConsumer.CommittableSource{TKey,TValue}"/>), after <see cref="CommitterSettings.MaxBatch"/>
/// messages or <see cref="CommitterSettings.MaxInterval"/>, and once more when the stream completes (graceful shutdown
/// commits everything processed). Put it at the end of the pipeline, after processing: at-least-once.
/// <para>Commits run off the stream thread, one at a time. <b>Backpressures when</b> a full batch waits for the commit
/// in progress. <b>Completes when</b> upstream completes and the final commit is made. <b>Fails when</b> a commit
/// fails, or a partition holds more than <see cref="CommitterSettings.MaxHeldBack"/> processed messages behind one
/// that has not arrived.</para>
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
        if (settings.MaxHeldBack <= 0) throw new ArgumentOutOfRangeException(nameof(settings), "MaxHeldBack must be positive.");
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
        private readonly OffsetTracker _offsets;
        private ConsumerHandle? _lastHandle;
        private Action<Exception?> _committed = null!;
        private bool _committing;
        private bool _finishing;
        private Exception? _upstreamFailure;
        private int _count;

        public Logic(CommitterSink stage, TaskCompletionSource<Done> done) : base(stage.Shape)
        {
            _stage = stage;
            _done = done;
            _offsets = new OffsetTracker(stage._settings.MaxHeldBack);
            SetHandler(stage._in, this);
        }

        public override void PreStart()
        {
            _committed = GetAsyncCallback<Exception?>(OnCommitted);
            ScheduleRepeatedly("commit", _stage._settings.Interval);
            Pull(_stage._in);
        }

        public void OnPush()
        {
            var c = Grab(_stage._in);
            var handle = c.Consumer;
            if (!ReferenceEquals(handle, _lastHandle))
            {
                if (_attached.Add(handle)) handle.AttachCommitter();
                _lastHandle = handle;
            }
            try
            {
                _offsets.Processed(c);
            }
            catch (InvalidOperationException ex)
            {
                Fail(ex);
                return;
            }
            if (++_count >= _stage._settings.MaxBatch) StartCommit();
            // A full batch waits for the commit in flight: that is the backpressure.
            if (!(_committing && _count >= _stage._settings.MaxBatch)) Pull(_stage._in);
        }

        public void OnUpstreamFinish() => Finish(null);

        public void OnUpstreamFailure(Exception e) => Finish(e);

        /// <summary>The final commit (what was processed before a failure is still committed), then the stage ends.</summary>
        private void Finish(Exception? failure)
        {
            _finishing = true;
            _upstreamFailure = failure;
            SetKeepGoing(true);     // until the final commit's callback
            if (!_committing && !StartCommit()) End();
        }

        protected override void OnTimer(object timerKey) => StartCommit();

        /// <summary>Starts committing what may be committed, off the stream thread (a commit is a round trip to the
        /// group coordinator). One commit at a time, so commits of a partition never overtake each other.</summary>
        private bool StartCommit()
        {
            if (_committing || _count == 0) return false;
            _count = 0;
            List<(ConsumerHandle, List<TopicPartitionOffset>)>? work = null;
            foreach (var handle in _attached)
            {
                if (_offsets.Take(handle) is not { } list) continue;
                handle.Pending(list);
                (work ??= new()).Add((handle, list));
            }
            if (work is null) return false;
            _committing = true;
            var committed = _committed;
            Task.Run(() =>
            {
                try
                {
                    foreach (var (handle, list) in work) handle.Commit(list);
                    committed(null);
                }
                catch (Exception ex)
                {
                    committed(ex);
                }
            });
            return true;
        }

        private void OnCommitted(Exception? error)
        {
            _committing = false;
            if (_finishing)
            {
                if (error is not null && _upstreamFailure is null) _upstreamFailure = error;
                if (error is not null || !StartCommit()) End();
                return;
            }
            if (error is not null)
            {
                Fail(error);
                return;
            }
            if (_count >= _stage._settings.MaxBatch) StartCommit();
            if (!(_committing && _count >= _stage._settings.MaxBatch) && !HasBeenPulled(_stage._in) && !IsClosed(_stage._in)) Pull(_stage._in);
        }

        private void Fail(Exception e)
        {
            Release();
            _done.TrySetException(e);
            FailStage(e);
        }

        private void End()
        {
            if (_upstreamFailure is { } failure)
            {
                Fail(failure);
                return;
            }
            Release();
            _done.TrySetResult(Done.Instance);
            CompleteStage();
        }

        private void Release()
        {
            foreach (var h in _attached) h.CommitterDone();
            _attached.Clear();
        }

        public override void PostStop()
        {
            Release();
            _done.TrySetException(new AbruptStageTerminationException(this));
        }
    }
}
