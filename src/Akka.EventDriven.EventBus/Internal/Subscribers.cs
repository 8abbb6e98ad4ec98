using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>Names of the bus's logs, consumers and pub-sub topics.</summary>
internal static class BusNames
{
    public const string GroupPrefix = "$g:";
    public const string RequestPrefix = "$rr:";
    public const string LogNotifyPrefix = "$log:";

    public static string TopicLog(string topic, int partition) => $"t:{topic}#{partition}";
    public static string QueueLog(string queue) => $"q:{queue}";
    public static string Consumer(string logId, string group) => $"{logId}|{group}";

    public static (string LogId, string Group) ParseConsumer(string consumerId)
    {
        var bar = consumerId.LastIndexOf('|');
        return (consumerId[..bar], consumerId[(bar + 1)..]);
    }

    public static bool IsQueueLog(string logId) => logId.StartsWith("q:", StringComparison.Ordinal);

    /// <summary>The partition of a topic log id (null for a queue).</summary>
    public static int? PartitionOf(string logId)
    {
        var hash = logId.LastIndexOf('#');
        return IsQueueLog(logId) || hash < 0 ? null : int.Parse(logId[(hash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>FNV-1a: the same partition for the same key on every node and run (string.GetHashCode is randomized).</summary>
    public static int Partition(string key, int partitions)
    {
        if (partitions == 1) return 0;
        var hash = 2166136261u;
        foreach (var c in key) hash = (hash ^ c) * 16777619u;
        return (int)(hash % (uint)partitions);
    }
}

/// <summary>A fast-path subscriber: registered with the pub-sub mediator, it runs the handler itself, one message at a
/// time: a handler that completes synchronously costs no thread hop; while an asynchronous one runs, arriving messages
/// wait in a bounded buffer where the overflow policy applies.</summary>
internal sealed class TopicSubscriberActor<T> : ReceiveActor
{
    private sealed class HandlerDone
    {
        public static readonly HandlerDone Instance = new();
    }

    private readonly IActorRef _mediator;
    private readonly string _mediatorTopic;
    private readonly string? _group;
    private readonly HandlerRunner<T> _runner;
    private readonly int _capacity;
    private readonly OverflowPolicy _overflow;
    private readonly Action<BusEnvelope> _dropped;
    private readonly CancellationToken _stop;
    private readonly Queue<BusEnvelope> _buffer = new();
    private bool _busy;

    public TopicSubscriberActor(IActorRef mediator, string mediatorTopic, string? group, HandlerRunner<T> runner, int capacity,
        OverflowPolicy overflow, Action<BusEnvelope> dropped, TaskCompletionSource ready, CancellationToken stop)
    {
        _mediator = mediator;
        _mediatorTopic = mediatorTopic;
        _group = group;
        _runner = runner;
        _capacity = capacity;
        _overflow = overflow;
        _dropped = dropped;
        _stop = stop;
        Receive<BusEnvelope>(e =>
        {
            if (!_busy) Run(e);
            else Buffer(e);
        });
        Receive<HandlerDone>(_ =>
        {
            _busy = false;
            while (!_busy && _buffer.TryDequeue(out var next)) Run(next);
        });
        Receive<SubscribeAck>(_ => ready.TrySetResult());
    }

    private void Run(BusEnvelope envelope)
    {
        if (_stop.IsCancellationRequested) return;
        var task = _runner.RunAsync(envelope, null, null, 1, _stop);
        if (task.IsCompleted) return; // RunAsync handles handler failures itself
        _busy = true;
        task.ContinueWith(static _ => (object)HandlerDone.Instance, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).PipeTo(Self);
    }

    private void Buffer(BusEnvelope envelope)
    {
        if (_buffer.Count < _capacity)
        {
            _buffer.Enqueue(envelope);
            return;
        }
        if (_overflow == OverflowPolicy.DropOldest)
        {
            _dropped(_buffer.Dequeue());
            _buffer.Enqueue(envelope);
        }
        else _dropped(envelope);
    }

    protected override void PreStart() => _mediator.Tell(new Subscribe(_mediatorTopic, Self, _group));

    protected override void PostStop()
    {
        _mediator.Tell(new Unsubscribe(_mediatorTopic, Self, _group));
        // Messages still buffered when the subscription is disposed are not handled: at-most-once, counted as dropped.
        while (_buffer.TryDequeue(out var e)) _dropped(e);
    }
}

/// <summary>The node-side member of a durable topic subscription or queue consumer: registers with the consumer(s)
/// every heartbeat and passes deliveries to the handler loop.</summary>
internal sealed class ConsumerMemberActor : ReceiveActor, IWithTimers
{
    private sealed class Heartbeat
    {
        public static readonly Heartbeat Instance = new();
    }

    private readonly IActorRef _region;
    private readonly string[] _consumerIds;
    private readonly int _prefetch;
    private readonly TimeSpan _interval;

    public ConsumerMemberActor(IActorRef region, string[] consumerIds, int prefetch, TimeSpan interval, ChannelWriter<Deliver> deliveries,
        HeldDeliveries held, ILoggingAdapter log)
    {
        _region = region;
        _consumerIds = consumerIds;
        _prefetch = prefetch;
        _interval = interval;
        long full = 0;
        Receive<Deliver>(d =>
        {
            if (!Sender.IsNobody()) d = d with { From = Sender };
            switch (held.Admit(d))
            {
                case HeldDeliveries.Admission.New:
                    if (deliveries.TryWrite(d)) break;
                    held.Release(d); // the consumer redelivers it after the visibility timeout
                    if (full++ % 1000 == 0)
                        log.Warning("Bus member {0}: delivery buffer full, dropped delivery {1} of {2} ({3} so far)", Self.Path.Name, d.Sequence, d.ConsumerId, full);
                    break;
                case HeldDeliveries.Admission.Acknowledged:
                    (d.From ?? region).Tell(new AckDeliveries(d.ConsumerId, [d.Sequence])); // its ack was lost (or is on its way): ack again
                    break;
                default:
                    break; // already waiting or being handled here: a redelivery of a slow handler's message, not handled twice
            }
        });
        Receive<RevokeDeliveries>(v => Sender.Tell(new DeliveriesRevoked(v.ConsumerId, held.Revoke(v.ConsumerId, v.Sequences, Sender))));
        Receive<Heartbeat>(_ => Register());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        Register();
        Timers.StartPeriodicTimer("heartbeat", Heartbeat.Instance, _interval);
    }

    private void Register()
    {
        foreach (var id in _consumerIds) _region.Tell(new RegisterMember(id, Self, _prefetch));
    }

    protected override void PostStop()
    {
        foreach (var id in _consumerIds) _region.Tell(new UnregisterMember(id, Self));
    }
}

/// <summary>The deliveries a member holds (waiting in its buffer or being handled) and those it acknowledged lately,
/// shared by the member actor (which admits deliveries) and its handler loop (which acknowledges them). A consumer
/// resends what it presumes lost; without this a slow handler would get each of its messages again and again.</summary>
internal sealed class HeldDeliveries(int rememberAcknowledged)
{
    /// <summary>What to do with an arriving delivery.</summary>
    public enum Admission
    {
        /// <summary>Not held: buffer it for the handler.</summary>
        New,
        /// <summary>Already buffered or being handled: drop it.</summary>
        Held,
        /// <summary>Handled and acknowledged lately: acknowledge it again, do not handle it again.</summary>
        Acknowledged,
    }

    private readonly object _lock = new();
    // The delivery instance that is current for each (consumer, sequence) held here: the handler loop runs a buffered
    // delivery only while it is still the current one (a revoke, or a later copy admitted after it, supersedes it).
    private readonly Dictionary<(string, long), Deliver> _held = new();
    private readonly HashSet<(string, long)> _started = new();
    private readonly HashSet<(string, long)> _acknowledged = new();
    private readonly Queue<(string, long)> _order = new();

    public Admission Admit(Deliver delivery)
    {
        var key = (delivery.ConsumerId, delivery.Sequence);
        lock (_lock)
        {
            if (_acknowledged.Contains(key)) return Admission.Acknowledged;
            return _held.TryAdd(key, delivery) ? Admission.New : Admission.Held;
        }
    }

    public void Release(Deliver delivery)
    {
        var key = (delivery.ConsumerId, delivery.Sequence);
        lock (_lock)
        {
            if (_held.TryGetValue(key, out var current) && ReferenceEquals(current, delivery)) _held.Remove(key);
            _started.Remove(key);
        }
    }

    /// <summary>Called by the handler loop before it hands a buffered delivery to the handler: false when this instance
    /// is no longer the current one (it was revoked, and a copy from the consumer's successor may follow it).</summary>
    public bool TryStart(Deliver delivery)
    {
        var key = (delivery.ConsumerId, delivery.Sequence);
        lock (_lock)
        {
            if (!_held.TryGetValue(key, out var current) || !ReferenceEquals(current, delivery)) return false;
            _started.Add(key);
            return true;
        }
    }

    /// <summary>Gives back those of <paramref name="sequences"/> that <paramref name="from"/> (the consumer asking) sent
    /// and that are buffered but not started; a delivery already being handled is finished and acknowledged as usual.</summary>
    public long[] Revoke(string consumerId, long[] sequences, IActorRef from)
    {
        lock (_lock)
        {
            var back = new List<long>();
            foreach (var seq in sequences)
            {
                var key = (consumerId, seq);
                if (!_held.TryGetValue(key, out var current) || _started.Contains(key) || !Equals(current.From, from)) continue;
                _held.Remove(key); // the buffered instance is skipped; a copy from the successor is admitted as new
                back.Add(seq);
            }
            return back.ToArray();
        }
    }

    public void Acknowledged(string consumerId, long[] sequences)
    {
        lock (_lock)
            foreach (var seq in sequences)
            {
                _held.Remove((consumerId, seq));
                _started.Remove((consumerId, seq));
                if (!_acknowledged.Add((consumerId, seq))) continue;
                _order.Enqueue((consumerId, seq));
                if (_order.Count > rememberAcknowledged) _acknowledged.Remove(_order.Dequeue());
            }
    }
}

/// <summary>Answers requests on a subject with a handler: at most <c>maxConcurrency</c> at once, at most
/// <c>maxQueued</c> more waiting; a request beyond both is answered "Overloaded" at once. (A caller gives up at its
/// timeout, but a started handler runs on: without a bound, callers faster than the handler would pile up handlers.)</summary>
internal sealed class RequestHandlerActor : ReceiveActor
{
    private sealed record Done;
    private static readonly Done HandlerDone = new();

    private readonly IActorRef _mediator;
    private readonly string _topic;
    private readonly string _group;
    private readonly Func<BusEnvelope, Task<BusReply>> _handle;
    private readonly int _maxConcurrency;
    private readonly int _maxQueued;
    private readonly Queue<(BusEnvelope Request, IActorRef ReplyTo)> _queued = new();
    private int _running;

    public RequestHandlerActor(IActorRef mediator, string topic, string group, TaskCompletionSource ready,
        Func<BusEnvelope, Task<BusReply>> handle, int maxConcurrency, int maxQueued)
    {
        _mediator = mediator;
        _topic = topic;
        _group = group;
        _handle = handle;
        _maxConcurrency = maxConcurrency;
        _maxQueued = maxQueued;
        Receive<SubscribeAck>(_ => ready.TrySetResult());
        Receive<BusEnvelope>(e =>
        {
            if (_running < _maxConcurrency) Start(e, Sender);
            else if (_queued.Count < _maxQueued) _queued.Enqueue((e, Sender));
            else Sender.Tell(new BusReply(false, null, null, "Overloaded",
                $"The handler of '{_topic}' runs {_running} requests and {_queued.Count} more wait; try again later."));
        });
        Receive<Done>(_ =>
        {
            _running--;
            if (_queued.TryDequeue(out var next)) Start(next.Request, next.ReplyTo);
        });
    }

    private void Start(BusEnvelope request, IActorRef replyTo)
    {
        _running++;
        var self = Self;
        Task<BusReply> handled;
        try { handled = _handle(request); }
        catch (Exception e) { handled = Task.FromException<BusReply>(e); }
        handled.ContinueWith(t =>
        {
            replyTo.Tell(t.IsCompletedSuccessfully
                ? t.Result
                : new BusReply(false, null, null, "InternalError", t.Exception?.GetBaseException().Message ?? "cancelled"));
            self.Tell(HandlerDone);
        }, TaskScheduler.Default);
    }

    protected override void PreStart() => _mediator.Tell(new Subscribe(_topic, Self, _group));

    protected override void PostStop() => _mediator.Tell(new Unsubscribe(_topic, Self, _group));
}

/// <summary>One live subscription: its actor, its handler loop, and how to stop both.</summary>
internal sealed class BusSubscription(string topic, string? group, IActorRef actor, CancellationTokenSource stop, BusMetrics metrics,
    Action? onDispose = null) : IBusSubscription
{
    private int _disposed;
    public Task Loop { get; set; } = Task.CompletedTask;
    public string Topic { get; } = topic;
    public string? Group { get; } = group;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        // Stop the handler loop first (it acknowledges what it handled), then the actor (which unregisters, so the
        // consumer redelivers only what was really left unhandled).
        await stop.CancelAsync();
        try { await Loop; } catch (OperationCanceledException) { }
        actor.Tell(PoisonPill.Instance);
        stop.Dispose();
        metrics.SubscriptionStopped();
        onDispose?.Invoke();
    }
}

/// <summary>Drains a subscription's buffer through its handler.</summary>
internal static class HandlerLoops
{
    /// <summary>Handles deliveries in arrival order and acknowledges them in batches (when the buffer runs dry or
    /// 64 are pending), so a busy consumer costs one ack message per batch, not per message.</summary>
    public static async Task DurableAsync<T>(ChannelReader<Deliver> reader, HandlerRunner<T> runner, IActorRef region,
        IReadOnlyCollection<string> consumerIds, HeldDeliveries held, ILoggingAdapter log, CancellationToken stop, bool deferrable = false)
    {
        // The partition of each consumer this member serves, parsed once (not per delivery).
        var partitions = consumerIds.ToDictionary(id => id, id => BusNames.PartitionOf(BusNames.ParseConsumer(id).LogId), StringComparer.Ordinal);
        // Acknowledgements go to the consumer entity that sent the delivery (a successor started elsewhere after a
        // hand-off gets its own), through the region only when the sender is not known.
        var acks = new Dictionary<(string Consumer, IActorRef To), List<long>>();
        void Flush()
        {
            foreach (var ((consumer, to), seqs) in acks)
                if (seqs.Count > 0)
                {
                    var acked = seqs.ToArray();
                    to.Tell(new AckDeliveries(consumer, acked));
                    held.Acknowledged(consumer, acked);
                }
            acks.Clear(); // one entry per consumer incarnation would otherwise stay for good
        }
        try
        {
            while (await reader.WaitToReadAsync(stop))
            {
                var pending = 0;
                while (reader.TryRead(out var d))
                {
                    if (!held.TryStart(d)) continue; // revoked by a consumer being handed off (or superseded by a later copy)
                    var partition = partitions.GetValueOrDefault(d.ConsumerId);
                    var (consumer, seq, to) = (d.ConsumerId, d.Sequence, d.From ?? region);
                    var deferral = deferrable
                        ? new DeferredAck(() =>
                        {
                            to.Tell(new AckDeliveries(consumer, [seq]));
                            held.Acknowledged(consumer, [seq]);
                        })
                        : null;
                    while (!await runner.RunAsync(d.Message, d.Sequence, partition, d.DeliveryCount, stop, deferral))
                    {
                        if (stop.IsCancellationRequested) return;
                        log.Warning("Bus subscriber {0}: message {1} neither handled nor dead-lettered; trying again in 1 s", runner.Subscriber, d.Message.Id);
                        await Task.Delay(1000, stop);
                    }
                    // Deferred: acknowledged when the stream commits it. One never committed stays held here and is
                    // redelivered when the subscription ends (the member unregisters).
                    if (deferral?.Completion is not null) continue;
                    if (!acks.TryGetValue((consumer, to), out var list)) acks[(consumer, to)] = list = new List<long>();
                    list.Add(d.Sequence);
                    if (++pending >= 64)
                    {
                        Flush();
                        pending = 0;
                    }
                }
                Flush();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        finally
        {
            Flush(); // what was handled before a stop is acknowledged, not redelivered
        }
    }
}
