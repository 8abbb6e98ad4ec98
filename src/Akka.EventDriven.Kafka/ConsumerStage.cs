using Akka.Streams;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

internal sealed class ConsumerStage<TKey, TValue, TOut> : GraphStageWithMaterializedValue<SourceShape<TOut>, IConsumerControl>
{
    private readonly KafkaConsumerSettings<TKey, TValue> _settings;
    private readonly string[] _topics;
    private readonly bool _committable;
    private readonly Func<ConsumeResult<TKey, TValue>, ConsumerHandle, long, TOut> _map;
    private readonly Outlet<TOut> _out = new("KafkaConsumer.out");

    public ConsumerStage(KafkaConsumerSettings<TKey, TValue> settings, string[] topics, bool committable,
        Func<ConsumeResult<TKey, TValue>, ConsumerHandle, long, TOut> map)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (topics is null || topics.Length == 0) throw new ArgumentException("Name at least one topic.", nameof(topics));
        _settings = settings;
        _topics = topics;
        _committable = committable;
        _map = map;
        Shape = new SourceShape<TOut>(_out);
    }

    public override SourceShape<TOut> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("kafka-consumer");

    public override ILogicAndMaterializedValue<IConsumerControl> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var logic = new Logic(this);
        return new LogicAndMaterializedValue<IConsumerControl>(logic, logic);
    }

    private sealed class Logic : OutGraphStageLogic, IConsumerControl
    {
        private readonly ConsumerStage<TKey, TValue, TOut> _stage;
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private ConsumerHandle<TKey, TValue>? _handle;
        private Action<ConsumeResult<TKey, TValue>?>? _polled;
        private Action<NotUsed>? _stop;
        private Action<Exception>? _failed;
        private bool _polling;
        // Messages emitted so far per topic and partition (the committer's contiguity is counted over these). The
        // usual single topic costs a reference compare and an array increment per message.
        private readonly Dictionary<string, long[]> _emitted = new(StringComparer.Ordinal);
        private string? _lastTopic;
        private long[] _lastEmitted = [];

        public Logic(ConsumerStage<TKey, TValue, TOut> stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage._out, this);
        }

        public Task Closed => _closed.Task;

        public IReadOnlyList<TopicPartition> Assignment => _handle?.Assignment ?? Array.Empty<TopicPartition>();

        public void Stop() => _stop?.Invoke(NotUsed.Instance);

        public override void PreStart()
        {
            _stop = GetAsyncCallback<NotUsed>(_ => CompleteStage());
            _polled = GetAsyncCallback<ConsumeResult<TKey, TValue>?>(OnPolled);
            _failed = GetAsyncCallback<Exception>(FailStage);
            _handle = new ConsumerHandle<TKey, TValue>(_stage._settings, _stage._topics, _stage._committable);
            _ = _handle.Closed.ContinueWith(_ => _closed.TrySetResult(), TaskScheduler.Default);
        }

        public override void OnPull()
        {
            if (_polling) return;
            ConsumeResult<TKey, TValue>? result;
            try
            {
                result = _handle!.Poll(TimeSpan.Zero);
            }
            catch (Exception ex)
            {
                FailStage(ex);
                return;
            }
            if (result is not null) Push(_stage._out, Map(result));
            else PollInBackground();
        }

        private void PollInBackground()
        {
            _polling = true;
            var handle = _handle!;
            var timeout = _stage._settings.PollTimeout;
            var callback = _polled!;
            var failed = _failed!;
            Task.Run(() =>
            {
                ConsumeResult<TKey, TValue>? result;
                try
                {
                    result = handle.Poll(timeout);
                }
                catch (Exception ex)
                {
                    failed(ex);
                    return;
                }
                callback(result);
            });
        }

        private void OnPolled(ConsumeResult<TKey, TValue>? result)
        {
            _polling = false;
            if (!IsAvailable(_stage._out)) return;
            if (result is not null) Push(_stage._out, Map(result));
            else OnPull();
        }

        private TOut Map(ConsumeResult<TKey, TValue> result) =>
            _stage._map(result, _handle!, _stage._committable ? NextSequence(result.Topic, result.Partition.Value) : 0);

        private long NextSequence(string topic, int partition)
        {
            if (!ReferenceEquals(topic, _lastTopic) && !string.Equals(topic, _lastTopic, StringComparison.Ordinal))
            {
                if (!_emitted.TryGetValue(topic, out var counts)) _emitted[topic] = counts = new long[16];
                (_lastTopic, _lastEmitted) = (topic, counts);
            }
            if (partition >= _lastEmitted.Length)
            {
                var grown = new long[Math.Max(partition + 1, _lastEmitted.Length * 2)];
                _lastEmitted.CopyTo(grown, 0);
                _emitted[topic] = _lastEmitted = grown;
            }
            return _lastEmitted[partition]++;
        }

        public override void OnDownstreamFinish(Exception cause) => CompleteStage();

        public override void PostStop()
        {
            var handle = _handle;
            if (handle is null) return;
            if (!_stage._committable)
            {
                _ = Task.Run(handle.Close);
                return;
            }
            // A committer downstream may still make its final commit through this consumer.
            handle.SourceStopped(_stage._settings.StopTimeout);
        }
    }
}
