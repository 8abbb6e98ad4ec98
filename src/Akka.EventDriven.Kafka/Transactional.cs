using Akka.Streams;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>How <see cref="Transactional.Sink{TKey,TValue}"/> groups messages into transactions.</summary>
/// <param name="TransactionalId">The producer's <c>transactional.id</c>: stable per pipeline instance (a restarted
/// instance with the same id fences the old one and aborts its open transaction).</param>
/// <param name="MaxBatch">Commit the transaction after this many messages (default 1000).</param>
/// <param name="MaxInterval">Commit at least this often while a transaction is open (default 100 ms).</param>
/// <param name="Timeout">Timeout of each transactional call (init, send offsets, commit, abort; default 30 s).</param>
public sealed record TransactionSettings(string TransactionalId, int MaxBatch = 1000, TimeSpan? MaxInterval = null, TimeSpan? Timeout = null)
{
    internal TimeSpan Interval => MaxInterval ?? TimeSpan.FromMilliseconds(100);
    internal TimeSpan CallTimeout => Timeout ?? TimeSpan.FromSeconds(30);
}

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

/// <summary>
/// Exactly-once consume-transform-produce on Kafka transactions (beyond Akka.Streams.Kafka). Read with
/// <see cref="KafkaConsumer.TransactionalSource{TKey,TValue}"/>, transform, and end in <see cref="Sink{TKey,TValue}"/>
/// with each output message carrying the input's <see cref="ICommittable"/> as its pass-through. The sink produces
/// inside a transaction and, every batch, sends the consumed offsets into the same transaction and commits it: the
/// outputs and the consumer group's progress become visible together or not at all. A failure aborts the open
/// transaction and fails the stream; restart it (the pipeline's RestartWithBackoff) and it resumes from the last
/// committed transaction. On a real broker, read_committed consumers never see aborted outputs.
/// <para><b>Backpressures when</b> a transaction is being committed. <b>Completes when</b> upstream completes and
/// the last transaction is committed. <b>Fails when</b> a transactional call fails (e.g. fenced by a newer
/// instance with the same transactional id).</para>
/// </summary>
public static class Transactional
{
    /// <summary>The transactional sink; its materialized <see cref="TransactionStats"/> counts commits and aborts.</summary>
    public static Akka.Streams.Dsl.Sink<ProducerMessage<TKey, TValue, ICommittable>, TransactionStats> Sink<TKey, TValue>(
        KafkaProducerSettings<TKey, TValue> settings, TransactionSettings transactions) =>
        Akka.Streams.Dsl.Sink.FromGraph(new TransactionalSink<TKey, TValue>(settings, transactions));
}

internal sealed class TransactionalSink<TKey, TValue> : GraphStageWithMaterializedValue<SinkShape<ProducerMessage<TKey, TValue, ICommittable>>, TransactionStats>
{
    private readonly KafkaProducerSettings<TKey, TValue> _settings;
    private readonly TransactionSettings _transactions;
    private readonly Inlet<ProducerMessage<TKey, TValue, ICommittable>> _in = new("Transactional.in");

    public TransactionalSink(KafkaProducerSettings<TKey, TValue> settings, TransactionSettings transactions)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentException.ThrowIfNullOrWhiteSpace(transactions?.TransactionalId);
        _settings = settings.WithProperty("transactional.id", transactions.TransactionalId);
        _transactions = transactions;
        Shape = new SinkShape<ProducerMessage<TKey, TValue, ICommittable>>(_in);
    }

    public override SinkShape<ProducerMessage<TKey, TValue, ICommittable>> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("kafka-transactional-sink");

    public override ILogicAndMaterializedValue<TransactionStats> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var stats = new TransactionStats();
        return new LogicAndMaterializedValue<TransactionStats>(new Logic(this, stats), stats);
    }

    private sealed class Logic : TimerGraphStageLogic, IInHandler
    {
        private readonly TransactionalSink<TKey, TValue> _stage;
        private readonly TransactionStats _stats;
        private readonly Dictionary<TopicPartition, TopicPartitionOffset> _offsets = new();
        private readonly HashSet<ConsumerHandle> _attached = new();
        private IProducer<TKey, TValue>? _producer;
        private ConsumerHandle? _consumer;
        private Action<DeliveryReport<TKey, TValue>> _onDelivery = null!;
        private Exception? _deliveryError;
        private bool _inTransaction;
        private int _count;

        public Logic(TransactionalSink<TKey, TValue> stage, TransactionStats stats) : base(stage.Shape)
        {
            _stage = stage;
            _stats = stats;
            SetHandler(stage._in, this);
        }

        private TimeSpan Timeout => _stage._transactions.CallTimeout;

        public override void PreStart()
        {
            _onDelivery = r =>
            {
                if (r.Error.IsError) Interlocked.CompareExchange(ref _deliveryError, new ProduceException<TKey, TValue>(r.Error, r), null);
            };
            _producer = _stage._settings.Build();
            _producer.InitTransactions(Timeout);       // fences any older producer with this transactional id
            ScheduleRepeatedly("commit", _stage._transactions.Interval);
            Pull(_stage._in);
        }

        public void OnPush()
        {
            var message = Grab(_stage._in);
            try
            {
                var source = message.PassThrough;
                if (_consumer is null || !ReferenceEquals(_consumer, source.Consumer))
                {
                    if (_consumer is not null && _count > 0) Commit();    // one consumer's offsets per transaction
                    _consumer = source.Consumer;
                    if (_attached.Add(_consumer)) _consumer.AttachCommitter();
                }
                if (!_inTransaction)
                {
                    _producer!.BeginTransaction();
                    _inTransaction = true;
                }
                if (message.Partition is { } p)
                    _producer!.Produce(new TopicPartition(message.Topic, new Partition(p)), message.Message, _onDelivery);
                else
                    _producer!.Produce(message.Topic, message.Message, _onDelivery);
                var next = source.NextOffset;
                _offsets[next.TopicPartition] = next;
                if (++_count >= _stage._transactions.MaxBatch) Commit();
            }
            catch (Exception ex)
            {
                Fail(ex);
                return;
            }
            Pull(_stage._in);
        }

        protected override void OnTimer(object timerKey)
        {
            try
            {
                if (_count > 0) Commit();
            }
            catch (Exception ex)
            {
                Fail(ex);
            }
        }

        /// <summary>Sends the consumed offsets into the open transaction and commits it (which flushes the outputs).</summary>
        private void Commit()
        {
            var metadata = _consumer!.GroupMetadata ?? throw new InvalidOperationException("The consumer closed before the transaction committed.");
            _producer!.SendOffsetsToTransaction(_offsets.Values.ToList(), metadata, Timeout);
            _producer.CommitTransaction(Timeout);
            if (Interlocked.Exchange(ref _deliveryError, null) is { } error) throw error;
            _inTransaction = false;
            _stats.Committed(_count);
            _count = 0;
            _offsets.Clear();
        }

        public void OnUpstreamFinish()
        {
            try
            {
                if (_count > 0) Commit();
            }
            catch (Exception ex)
            {
                Fail(ex);
                return;
            }
            Release();
            _stats.Done.TrySetResult();
            CompleteStage();
        }

        public void OnUpstreamFailure(Exception e) => Fail(e);

        private void Fail(Exception e)
        {
            Abort();
            Release();
            _stats.Done.TrySetException(e);
            FailStage(e);
        }

        private void Abort()
        {
            if (!_inTransaction || _producer is null) return;
            _inTransaction = false;
            _count = 0;
            _offsets.Clear();
            try
            {
                _producer.AbortTransaction(Timeout);
            }
            catch (KafkaException)
            {
                // Fenced or fatal: the broker aborts the open transaction itself (the newer instance's init does).
            }
            _stats.Aborted();
        }

        private void Release()
        {
            foreach (var c in _attached) c.CommitterDone();
            _attached.Clear();
        }

        public override void PostStop()
        {
            Abort();
            Release();
            _stats.Done.TrySetException(new AbruptStageTerminationException(this));
            _producer?.Dispose();
        }
    }
}
