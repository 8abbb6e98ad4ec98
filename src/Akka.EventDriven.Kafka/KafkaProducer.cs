using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>
/// Kafka producer stages on Confluent.Kafka. A stage sends each message as it arrives (librdkafka batches by
/// <c>linger.ms</c>) and emits delivery results in input order once the broker acknowledged them.
/// <para><b>Emits when</b> the oldest message in flight is acknowledged. <b>Backpressures when</b>
/// <see cref="KafkaProducerSettings{TKey,TValue}.MaxInFlight"/> messages are unacknowledged or downstream
/// backpressures. <b>Completes when</b> upstream completes and every message in flight is acknowledged.
/// <b>Fails when</b> a delivery fails (after librdkafka's own retries).</para>
/// </summary>
public static class KafkaProducer
{
    /// <summary>Produces each message and emits its delivery result (in input order).</summary>
    /// <param name="settings">The producer settings.</param>
    /// <param name="producer">A producer to share (not disposed by the stage); null = one per materialization.</param>
    public static Flow<ProducerMessage<TKey, TValue, TPassThrough>, ProducerResult<TKey, TValue, TPassThrough>, NotUsed> Flow<TKey, TValue, TPassThrough>(
        KafkaProducerSettings<TKey, TValue> settings, IProducer<TKey, TValue>? producer = null) =>
        Akka.Streams.Dsl.Flow.FromGraph(new ProducerStage<TKey, TValue, ProducerMessage<TKey, TValue, TPassThrough>, TPassThrough,
            ProducerResult<TKey, TValue, TPassThrough>>(
            settings, producer, static (report, pass) => new ProducerResult<TKey, TValue, TPassThrough>(report, pass)));

    /// <summary>Produces each message to <paramref name="topic"/>; the task completes when every message is acknowledged.</summary>
    public static Sink<Message<TKey, TValue>, Task<Done>> Sink<TKey, TValue>(KafkaProducerSettings<TKey, TValue> settings, string topic,
        IProducer<TKey, TValue>? producer = null) =>
        Akka.Streams.Dsl.Sink.FromGraph(new ProducerSinkStage<TKey, TValue, Message<TKey, TValue>>(settings, producer,
            topic ?? throw new ArgumentNullException(nameof(topic))));

    /// <summary>Produces each message (to its own topic); the task completes when every message is acknowledged.</summary>
    public static Sink<ProducerMessage<TKey, TValue, TPassThrough>, Task<Done>> Sink<TKey, TValue, TPassThrough>(
        KafkaProducerSettings<TKey, TValue> settings, IProducer<TKey, TValue>? producer = null) =>
        Akka.Streams.Dsl.Sink.FromGraph(new ProducerSinkStage<TKey, TValue, ProducerMessage<TKey, TValue, TPassThrough>>(settings, producer, null));
}

internal sealed class ProducerStage<TKey, TValue, TIn, TPass, TOut> : GraphStage<FlowShape<TIn, TOut>>
{
    private readonly KafkaProducerSettings<TKey, TValue> _settings;
    private readonly IProducer<TKey, TValue>? _shared;
    private readonly Func<DeliveryReport<TKey, TValue>, TPass, TOut> _result;
    private readonly Inlet<TIn> _in = new("KafkaProducer.in");
    private readonly Outlet<TOut> _out = new("KafkaProducer.out");

    public ProducerStage(KafkaProducerSettings<TKey, TValue> settings, IProducer<TKey, TValue>? shared,
        Func<DeliveryReport<TKey, TValue>, TPass, TOut> result)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _shared = shared;
        _result = result;
        Shape = new FlowShape<TIn, TOut>(_in, _out);
    }

    public override FlowShape<TIn, TOut> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("kafka-producer");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    /// <summary>One message in flight; reused (with its delivery handler) once emitted, so sending allocates nothing
    /// of the stage's own.</summary>
    private sealed class Pending
    {
        private readonly Logic _logic;
        public readonly Action<DeliveryReport<TKey, TValue>> Handler;
        public DeliveryReport<TKey, TValue>? Report;
        public TPass PassThrough = default!;
        private int _done;

        public Pending(Logic logic)
        {
            _logic = logic;
            Handler = OnDelivery;
        }

        public bool Done => Volatile.Read(ref _done) == 1;

        public void Reset()
        {
            Report = null;
            PassThrough = default!;
            Volatile.Write(ref _done, 0);
        }

        private void OnDelivery(DeliveryReport<TKey, TValue> report)
        {
            Report = report;
            Interlocked.Exchange(ref _done, 1);       // a full fence before the stage's awaited slot is read
            _logic.Delivered(this);
        }
    }

    private sealed class Logic : TimerGraphStageLogic, IInHandler, IOutHandler
    {
        private readonly ProducerStage<TKey, TValue, TIn, TPass, TOut> _stage;
        private readonly Queue<Pending> _inFlight = new();
        private readonly Stack<Pending> _free = new();
        private IProducer<TKey, TValue> _producer = null!;
        private Action<NotUsed> _wakeUp = null!;
        // The oldest message while the stage waits for its delivery: only that delivery wakes the stage (once per
        // catch-up, not once per message).
        private Pending? _awaited;

        private bool _finishing;

        public Logic(ProducerStage<TKey, TValue, TIn, TPass, TOut> stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage._in, this);
            SetHandler(stage._out, this);
        }

        public override void PreStart()
        {
            _producer = _stage._shared ?? _stage._settings.Build();
            _wakeUp = GetAsyncCallback<NotUsed>(_ => Drain(arm: true));
            Pull(_stage._in);
        }

        public void Delivered(Pending pending)
        {
            if (ReferenceEquals(Volatile.Read(ref _awaited), pending) && ReferenceEquals(Interlocked.CompareExchange(ref _awaited, null, pending), pending))
                _wakeUp(NotUsed.Instance);
        }

        public void OnPush()
        {
            var input = Grab(_stage._in);
            var pending = _free.Count > 0 ? _free.Pop() : new Pending(this);
            _inFlight.Enqueue(pending);
            try
            {
                var message = (ProducerMessage<TKey, TValue, TPass>)(object)input!;
                pending.PassThrough = message.PassThrough;
                if (message.Partition is { } p)
                    _producer.Produce(new TopicPartition(message.Topic, new Partition(p)), message.Message, pending.Handler);
                else
                    _producer.Produce(message.Topic, message.Message, pending.Handler);
            }
            catch (Exception ex)
            {
                FailStage(ex);
                return;
            }
            // While messages keep coming, each push emits what was delivered; the delivery thread is asked to wake the
            // stage only when it would otherwise wait (at the in-flight limit), and a short timer covers an idle
            // upstream. Arming the wake-up per message would bounce a cache line between the two threads.
            var pulled = false;
            if (_inFlight.Count < _stage._settings.MaxInFlight && !HasBeenPulled(_stage._in) && !IsClosed(_stage._in))
            {
                Pull(_stage._in);
                pulled = true;
            }
            Drain(arm: !pulled);
            if (!IsTimerActive(FlushTimer)) ScheduleOnce(FlushTimer, TimeSpan.FromMilliseconds(5));
        }

        private const string FlushTimer = "flush";

        protected override void OnTimer(object timerKey)
        {
            Drain(arm: true);
            if (_inFlight.Count > 0 && !IsTimerActive(FlushTimer)) ScheduleOnce(FlushTimer, TimeSpan.FromMilliseconds(5));
        }

        public void OnPull() => Drain(arm: _finishing || !HasBeenPulled(_stage._in));

        public void OnDownstreamFinish(Exception cause) => CompleteStage();

        public void OnUpstreamFinish()
        {
            _finishing = true;
            Drain(arm: true);
        }

        public void OnUpstreamFailure(Exception e) => FailStage(e);

        /// <summary>Emits the oldest delivered message if downstream wants it; otherwise arms the wake-up.</summary>
        private void Drain(bool arm)
        {
            while (true)
            {
                if (_inFlight.Count == 0)
                {
                    if (_finishing) CompleteStage();
                    return;
                }
                var oldest = _inFlight.Peek();
                if (!oldest.Done)
                {
                    if (!arm) return;
                    Interlocked.Exchange(ref _awaited, oldest);        // a full fence before re-reading Done
                    if (!oldest.Done) return;                          // its delivery thread will wake the stage
                    Interlocked.CompareExchange(ref _awaited, null, oldest);   // delivered meanwhile: go on here
                }
                if (!IsAvailable(_stage._out)) return;
                _inFlight.Dequeue();
                var report = oldest.Report!;
                if (report.Error.IsError)
                {
                    FailStage(new ProduceException<TKey, TValue>(report.Error, report));
                    return;
                }
                var pass = oldest.PassThrough;
                oldest.Reset();
                _free.Push(oldest);
                Push(_stage._out, _stage._result(report, pass));
                if (!_finishing && !HasBeenPulled(_stage._in) && !IsClosed(_stage._in)) Pull(_stage._in);
                return;
            }
        }

        public override void PostStop()
        {
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
