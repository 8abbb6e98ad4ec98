using Akka.Streams;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>
/// The producer sinks: no results to emit, so no per-message bookkeeping — one shared delivery handler counts
/// outstanding messages and records the first error. Backpressures at the in-flight limit; completes (its task)
/// when upstream completed and every message is acknowledged; fails on the first delivery error.
/// </summary>
internal sealed class ProducerSinkStage<TKey, TValue, TIn> : GraphStageWithMaterializedValue<SinkShape<TIn>, Task<Done>>
{
    private readonly KafkaProducerSettings<TKey, TValue> _settings;
    private readonly IProducer<TKey, TValue>? _shared;
    private readonly string? _topic;
    private readonly Inlet<TIn> _in = new("KafkaProducerSink.in");

    /// <summary>Input is a <see cref="Message{TKey,TValue}"/> for <paramref name="topic"/>, or (topic null) a
    /// <see cref="ProducerMessage{TKey,TValue,TPassThrough}"/>.</summary>
    public ProducerSinkStage(KafkaProducerSettings<TKey, TValue> settings, IProducer<TKey, TValue>? shared, string? topic)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _shared = shared;
        _topic = topic;
        Shape = new SinkShape<TIn>(_in);
    }

    public override SinkShape<TIn> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("kafka-producer-sink");

    public override ILogicAndMaterializedValue<Task<Done>> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var done = new TaskCompletionSource<Done>(TaskCreationOptions.RunContinuationsAsynchronously);
        return new LogicAndMaterializedValue<Task<Done>>(new Logic(this, done), done.Task);
    }

    private sealed class Logic : TimerGraphStageLogic, IInHandler
    {
        private const string CheckTimer = "check";
        private readonly ProducerSinkStage<TKey, TValue, TIn> _stage;
        private readonly TaskCompletionSource<Done> _done;
        private IProducer<TKey, TValue> _producer = null!;
        private Action<DeliveryReport<TKey, TValue>> _handler = null!;
        private Action<NotUsed> _wakeUp = null!;
        private long _outstanding;
        private int _waiting;              // 1: the stage waits (at the limit, or draining); the next delivery wakes it
        private Exception? _error;
        private bool _finishing;

        public Logic(ProducerSinkStage<TKey, TValue, TIn> stage, TaskCompletionSource<Done> done) : base(stage.Shape)
        {
            _stage = stage;
            _done = done;
            SetHandler(stage._in, this);
        }

        public override void PreStart()
        {
            _producer = _stage._shared ?? _stage._settings.Build();
            _wakeUp = GetAsyncCallback<NotUsed>(_ => Check());
            _handler = report =>
            {
                if (report.Error.IsError) Interlocked.CompareExchange(ref _error, new ProduceException<TKey, TValue>(report.Error, report), null);
                Interlocked.Decrement(ref _outstanding);
                if (Volatile.Read(ref _waiting) == 1 && Interlocked.Exchange(ref _waiting, 0) == 1) _wakeUp(NotUsed.Instance);
            };
            Pull(_stage._in);
        }

        public void OnPush()
        {
            var input = Grab(_stage._in);
            Interlocked.Increment(ref _outstanding);
            try
            {
                if (_stage._topic is { } topic)
                    _producer.Produce(topic, (Message<TKey, TValue>)(object)input!, _handler);
                else
                {
                    var m = (IProducerMessage<TKey, TValue>)input!;
                    if (m.Partition is { } p) _producer.Produce(new TopicPartition(m.Topic, new Partition(p)), m.Message, _handler);
                    else _producer.Produce(m.Topic, m.Message, _handler);
                }
            }
            catch (Exception ex)
            {
                Fail(ex);
                return;
            }
            if (Volatile.Read(ref _error) is { } error) Fail(error);
            else if (Interlocked.Read(ref _outstanding) < _stage._settings.MaxInFlight) Pull(_stage._in);
            else Wait();
        }

        public void OnUpstreamFinish()
        {
            _finishing = true;
            SetKeepGoing(true);        // the inlet is closed but deliveries are still outstanding
            Check();
        }

        public void OnUpstreamFailure(Exception e) => Fail(e);

        protected override void OnTimer(object timerKey) => Check();

        /// <summary>Re-evaluates after a wake-up: fail, complete, resume pulling, or wait again.</summary>
        private void Check()
        {
            if (Volatile.Read(ref _error) is { } error)
            {
                Fail(error);
                return;
            }
            var outstanding = Interlocked.Read(ref _outstanding);
            if (_finishing)
            {
                if (outstanding == 0)
                {
                    _done.TrySetResult(Done.Instance);
                    CompleteStage();
                }
                else Wait();
                return;
            }
            if (outstanding < _stage._settings.MaxInFlight)
            {
                if (!HasBeenPulled(_stage._in)) Pull(_stage._in);
            }
            else Wait();
        }

        private void Wait()
        {
            Interlocked.Exchange(ref _waiting, 1);
            // A delivery between the read above and arming would be missed: a short timer re-checks.
            if (!IsTimerActive(CheckTimer)) ScheduleOnce(CheckTimer, TimeSpan.FromMilliseconds(5));
        }

        private void Fail(Exception e)
        {
            _done.TrySetException(e);
            FailStage(e);
        }

        public override void PostStop()
        {
            _done.TrySetException(new AbruptStageTerminationException(this));
            if (_stage._shared is not null || _producer is null) return;
            try
            {
                _producer.Flush(_stage._settings.FlushTimeout);
            }
            finally
            {
                _producer.Dispose();
            }
        }
    }
}

/// <summary>The parts of a <see cref="ProducerMessage{TKey,TValue,TPassThrough}"/> the sinks need, whatever its pass-through type.</summary>
internal interface IProducerMessage<TKey, TValue>
{
    string Topic { get; }
    Message<TKey, TValue> Message { get; }
    int? Partition { get; }
}
