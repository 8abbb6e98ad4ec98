using Akka.Streams;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>
/// Exactly-once consume-transform-produce on Kafka transactions (beyond Akka.Streams.Kafka). Read with
/// <see cref="KafkaConsumer.TransactionalSource{TKey,TValue}"/>, transform, and end in <see cref="Sink{TKey,TValue}"/>
/// with each output message carrying the input's <see cref="ICommittable"/> as its pass-through. The sink produces
/// inside a transaction and, every batch, sends the consumed offsets into the same transaction and commits it: the
/// outputs and the consumer group's progress become visible together or not at all. A failure aborts the open
/// transaction and fails the stream; restart it (the pipeline's RestartWithBackoff) and it resumes from the last
/// committed transaction. On a real broker, read_committed consumers never see aborted outputs.
/// <para>Transactional calls (init, send offsets, commit, abort) block for up to the call timeout, so they run off
/// the stream thread; the rest of the stream keeps running meanwhile. <b>Backpressures when</b> a transaction is
/// being committed. <b>Completes when</b> upstream completes and
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
        private readonly OffsetTracker _offsets = new();
        private readonly HashSet<ConsumerHandle> _attached = new();
        private IProducer<TKey, TValue>? _producer;
        private ConsumerHandle? _consumer;
        private Action<DeliveryReport<TKey, TValue>> _onDelivery = null!;
        private Action<Exception?> _opDone = null!;
        private Action<Exception?>? _afterOp;
        private Task<bool> _op = Task.FromResult(false);
        private Exception? _deliveryError;
        private Exception? _failure;
        private ProducerMessage<TKey, TValue, ICommittable>? _held;
        private bool _busy;
        private bool _finishing;
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
            _opDone = GetAsyncCallback<Exception?>(error =>
            {
                var after = _afterOp!;
                _afterOp = null;
                _busy = false;
                after(error);
            });
            var producer = _producer = _stage._settings.Build();
            ScheduleRepeatedly("commit", _stage._transactions.Interval);
            // Fences any older producer with this transactional id; it can take the whole call timeout.
            RunOffThread(() =>
            {
                producer.InitTransactions(Timeout);
                return false;
            }, error =>
            {
                if (error is not null) Fail(error);
                else Resume();
            });
        }

        /// <summary>Runs a blocking transactional call on the thread pool (never on the stream's thread), then
        /// <paramref name="after"/> on the stage. One at a time: the stage pulls nothing meanwhile.</summary>
        private void RunOffThread(Func<bool> call, Action<Exception?> after)
        {
            _busy = true;
            _afterOp = after;
            var done = _opDone;
            _op = Task.Run(() =>
            {
                try
                {
                    var closesTransaction = call();
                    done(null);
                    return closesTransaction;
                }
                catch (Exception ex)
                {
                    done(ex);
                    return false;
                }
            });
        }

        public void OnPush()
        {
            var message = Grab(_stage._in);
            if (_busy)
            {
                _held = message;    // pulled before a timer's commit started: produced after it
                return;
            }
            Handle(message);
            if (!_busy && _failure is null) PullIfWanted();
        }

        /// <summary>Produces <paramref name="message"/> into the open transaction; may start a commit (then
        /// <see cref="_busy"/>), which may also come first when the message belongs to another consumer.</summary>
        private void Handle(ProducerMessage<TKey, TValue, ICommittable> message)
        {
            try
            {
                var source = message.PassThrough;
                if (_consumer is null || !ReferenceEquals(_consumer, source.Consumer))
                {
                    if (_consumer is not null && _count > 0)     // one consumer's offsets per transaction
                    {
                        _held = message;
                        StartCommit();
                        return;
                    }
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
                _offsets.Processed(source);
                if (++_count >= _stage._transactions.MaxBatch) StartCommit();
            }
            catch (Exception ex)
            {
                Fail(ex);
            }
        }

        protected override void OnTimer(object timerKey)
        {
            if (!_busy && _count > 0) StartCommit();
        }

        /// <summary>Sends the consumed offsets into the open transaction and commits it (which flushes the outputs),
        /// off the stream thread.</summary>
        private void StartCommit()
        {
            try
            {
                var metadata = _consumer!.GroupMetadata ?? throw new InvalidOperationException("The consumer closed before the transaction committed.");
                // Only offsets with every earlier message produced: out-of-order input commits no offset past one
                // still in flight (its output may come in a later transaction).
                var offsets = _offsets.Take(_consumer);
                var producer = _producer!;
                var count = _count;
                RunOffThread(() =>
                {
                    if (offsets is not null) producer.SendOffsetsToTransaction(offsets, metadata, Timeout);
                    producer.CommitTransaction(Timeout);
                    if (Interlocked.Exchange(ref _deliveryError, null) is { } error) throw error;
                    return true;
                }, error =>
                {
                    if (error is not null)
                    {
                        Fail(error);
                        return;
                    }
                    _inTransaction = false;
                    _stats.Committed(count);
                    _count = 0;
                    Resume();
                });
            }
            catch (Exception ex)
            {
                Fail(ex);
            }
        }

        /// <summary>After a background call: the held message, then the final commit or the next pull.</summary>
        private void Resume()
        {
            if (_held is { } message)
            {
                _held = null;
                Handle(message);
            }
            if (_busy || _failure is not null) return;
            if (_finishing)
            {
                if (_count > 0) StartCommit();
                else Complete();
                return;
            }
            PullIfWanted();
        }

        private void PullIfWanted()
        {
            if (!IsClosed(_stage._in) && !HasBeenPulled(_stage._in)) Pull(_stage._in);
        }

        public void OnUpstreamFinish()
        {
            _finishing = true;
            SetKeepGoing(true);     // until the last commit's callback
            if (_busy || _held is not null) return;
            if (_count > 0) StartCommit();
            else Complete();
        }

        public void OnUpstreamFailure(Exception e) => Fail(e);

        private void Complete()
        {
            Release();
            _stats.Done.TrySetResult();
            CompleteStage();
        }

        /// <summary>Fails the stage; <see cref="PostStop"/> aborts the open transaction and then fails
        /// <see cref="TransactionStats.Completion"/>.</summary>
        private void Fail(Exception e)
        {
            _failure ??= e;
            FailStage(e);
        }

        private void Release()
        {
            foreach (var c in _attached) c.CommitterDone();
            _attached.Clear();
        }

        public override void PostStop()
        {
            Release();
            var producer = _producer;
            var stats = _stats;
            var failure = _failure ?? new AbruptStageTerminationException(this);
            var open = _inTransaction;
            var pending = _busy ? _op : null;
            var timeout = Timeout;
            // Aborting and disposing block (up to the call timeout), so they run off the stream thread, after the
            // call in flight (which the producer must finish first).
            _ = Task.Run(async () =>
            {
                if (pending is not null && await pending.ConfigureAwait(false)) open = false;   // its commit went through
                if (producer is not null)
                {
                    if (open)
                    {
                        try
                        {
                            producer.AbortTransaction(timeout);
                        }
                        catch (KafkaException)
                        {
                            // Fenced or fatal: the broker aborts the open transaction itself (the newer instance's init does).
                        }
                        stats.Aborted();
                    }
                    try
                    {
                        producer.Dispose();
                    }
                    catch (Exception)
                    {
                        // Nothing is left to report it to; the stream's outcome is already decided.
                    }
                }
                stats.Done.TrySetException(failure);
            });
        }
    }
}
