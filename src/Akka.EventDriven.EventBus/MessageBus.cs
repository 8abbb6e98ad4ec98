using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using Akka.Event;
using Akka.EventDriven.Diagnostics;
using Akka.EventDriven.EventBus.Internal;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.EventBus;

/// <summary>
/// The event bus of an actor system: topics, durable topics, queues and request-reply, on Akka cluster pub-sub and the
/// event journal, with no broker:
/// <list type="bullet">
/// <item><b>Topics</b> (<see cref="PublishAsync"/>, <see cref="SubscribeAsync{T}"/>): every subscriber on every node
/// gets each message; group members share them; <c>intel.*</c> patterns. This fast path is <b>at-most-once</b>: a message
/// is lost if its subscriber's node dies or its buffer overflows.</item>
/// <item><b>Durable topics</b> (<see cref="PublishOptions.Persistent"/>, <see cref="SubscriptionOptions.Durable"/>):
/// the publish returns once the message is journaled; each subscription group has a stored offset and gets every
/// message at least once, in order per partition, including those published while it was down.</item>
/// <item><b>Queues</b> (<see cref="EnqueueAsync"/>, <see cref="ConsumeAsync{T}"/>): journaled; each message goes to one
/// consumer at a time and is redelivered if that consumer dies before its handler completes.</item>
/// <item><b>Request-reply</b> (<see cref="RequestAsync{TReply}"/>, <see cref="HandleRequestsAsync{TRequest,TReply}"/>).</item>
/// </list>
/// Every subscription retries a failing handler with exponential backoff and then moves the message to a dead-letter
/// queue (<see cref="DeadLetters"/>); nothing is dropped silently.
/// </summary>
public sealed class MessageBus : IExtension
{
    private readonly ExtendedActorSystem _system;
    private readonly IActorRef _mediator;
    private readonly object _startLock = new();
    private Task<AggregateRepository<BusLogState>>? _logs;
    private Task<IActorRef>? _consumers;
    private Routing _routing = new(ImmutableHashSet<string>.Empty, ImmutableHashSet<string>.Empty); // topics known in the cluster
    private readonly ICancelable _refresh;
    private readonly ConcurrentDictionary<string, int> _localTopics = new(StringComparer.Ordinal); // live local subscriptions

    /// <summary>The pattern and group topics known, with the routes computed from them (swapped as one).</summary>
    private sealed class Routing(ImmutableHashSet<string> topics, ImmutableHashSet<string> all)
    {
        /// <summary>Pattern and group topics (publishers route to them too).</summary>
        public ImmutableHashSet<string> Topics { get; } = topics;
        /// <summary>Every topic with a subscriber somewhere, as last seen in the registry (plus local ones at once).</summary>
        public ImmutableHashSet<string> All { get; } = all;
        public ConcurrentDictionary<string, string[]> Cache { get; } = new(StringComparer.Ordinal);
    }

    internal MessageBus(ExtendedActorSystem system)
    {
        _system = system;
        system.Settings.InjectTopLevelFallback(EventBusConfig.DefaultConfig());
        EnsureSerializer(system);
        Settings = BusSettings.FromConfig(system.Settings.Config);
        Registry = MessageTypes.For(system);
        if (!Registry.IsRegistered(typeof(BusEnvelope))) Registry.Register<BusEnvelope>("bus.message", 1);
        if (!Registry.IsRegistered(typeof(AppendToLog))) Registry.Register<AppendToLog>("bus.append", 1);
        if (!Registry.IsRegistered(typeof(BusLogState))) Registry.Register<BusLogState>("bus.log-state", 1);
        Store = new BusStore(StoreSettings.FromConfig(system.Settings.Config));
        Log = Logging.GetLogger(system, typeof(MessageBus));
        MetricsCounters = new BusMetrics(system.Name);
        _mediator = DistributedPubSub.Get(system).Mediator;
        CheckFrameSize(system.Settings.Config, Settings);
        _refresh = system.Scheduler.Advanced.ScheduleRepeatedlyCancelable(Settings.RoutingRefreshInterval, Settings.RoutingRefreshInterval,
            () => _ = RefreshRoutesAsync());
        system.RegisterOnTermination(() =>
        {
            _refresh.Cancel();
            MetricsCounters.Dispose();
        });
    }

    /// <summary>The bus of <paramref name="system"/> (created on first use).</summary>
    public static MessageBus Get(ActorSystem system) => system.WithExtension<MessageBus, MessageBusProvider>();

    /// <summary>The settings (<c>akka.event-driven.bus</c>).</summary>
    public BusSettings Settings { get; }

    /// <summary>The meter name of the bus metrics (System.Diagnostics.Metrics).</summary>
    public const string MeterName = BusMetrics.MeterName;

    /// <summary>The window over which <see cref="GetTopicsAsync"/> and <see cref="GetQueuesAsync"/> compute rates (10 s).</summary>
    public static TimeSpan RateWindow => BusMetrics.RateWindow;

    /// <summary>Most topic (and, separately, queue) names whose counts a node keeps (1,000).</summary>
    public static int MaxTrackedNames => BusMetrics.MaxNames;

    internal MessageTypeRegistry Registry { get; }
    internal BusStore Store { get; }
    internal ILoggingAdapter Log { get; }
    internal BusMetrics MetricsCounters { get; }

    /// <summary>Starts the durable parts (the log and consumer sharding regions) on this node. Optional: they start on
    /// first use; start them on every node (Akka.Hosting's <c>WithEventBus</c> does) so consumers spread over the cluster.</summary>
    public async Task StartAsync()
    {
        await LogsAsync();
        await ConsumersAsync();
    }

    // Started once; a failed start (database away) is retried by the next call instead of failing for ever.
    private Task<AggregateRepository<BusLogState>> LogsAsync()
    {
        lock (_startLock)
        {
            if (_logs is null || _logs.IsFaulted || _logs.IsCanceled)
            {
                // The logs keep their events: they must never be deleted by a snapshot retention setting before
                // every consumer has read them, whatever the global event-sourcing defaults say.
                var settings = AggregateSettings.Create(_system, BusLog.AggregateName) with { DeleteEventsOnSnapshot = false };
                _logs = Aggregates.Get(_system).StartAsync(BusLog.Definition, settings);
            }
            return _logs;
        }
    }

    private Task<IActorRef> ConsumersAsync()
    {
        lock (_startLock)
        {
            if (_consumers is null || _consumers.IsFaulted || _consumers.IsCanceled) _consumers = StartConsumersAsync();
            return _consumers;
        }
    }

    /// <summary>A message of max-message-bytes must fit in one remoting frame, or it would be dropped between nodes.</summary>
    private static void CheckFrameSize(Config config, BusSettings settings)
    {
        const string key = "akka.remote.dot-netty.tcp.maximum-frame-size";
        if (!config.HasPath(key)) return;
        var frame = config.GetByteSize(key) ?? long.MaxValue;
        if (settings.MaxMessageBytes + 64 * 1024 > frame)
            throw new ConfigurationException(
                $"akka.event-driven.bus.max-message-bytes ({settings.MaxMessageBytes}) plus 64 KiB of envelope must fit in {key} ({frame}): " +
                "raise the frame size (and send/receive-buffer-size) or lower max-message-bytes.");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Topics
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Publishes <paramref name="message"/> (a registered type) on <paramref name="topic"/>. Fast path (default):
    /// delivered at most once to every current subscriber in the cluster; returns once handed to pub-sub. With
    /// <see cref="PublishOptions.Persistent"/>: returns once journaled (durable subscriptions get it at least once).
    /// Throws <see cref="ArgumentException"/> for an invalid topic name, <see cref="UnregisteredMessageTypeException"/>
    /// for an unregistered type and <see cref="MessageTooLargeException"/> before anything is sent or journaled.</summary>
    public async Task<PublishReceipt> PublishAsync(string topic, object message, PublishOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        TopicNames.Validate(topic);
        using var activity = BusTracing.StartPublish("publish", topic);
        try
        {
            var envelope = BusEnvelope.Create(Registry, topic, message, options, Settings.MaxMessageBytes);
            activity?.SetTag("messaging.message.id", envelope.Id);
            if (options?.Persistent == true)
            {
                var partitions = Settings.PartitionsOf(topic);
                var partition = BusNames.Partition(options.PartitionKey ?? envelope.Id, partitions);
                var seq = await AppendAsync(BusNames.TopicLog(topic, partition), envelope, cancellationToken);
                return new PublishReceipt(envelope.Id, partition, seq);
            }
            PublishFast(envelope);
            return new PublishReceipt(envelope.Id);
        }
        catch (Exception e)
        {
            EventDrivenTracing.Fail(activity, e);
            throw;
        }
    }

    /// <summary>Fast-path publish without a task: for hot loops that do not need a receipt.</summary>
    public void Publish(string topic, object message, PublishOptions? options = null)
    {
        if (options?.Persistent == true) throw new ArgumentException("Use PublishAsync for durable (persistent) messages.", nameof(options));
        TopicNames.Validate(topic);
        using var activity = BusTracing.StartPublish("publish", topic);
        PublishFast(BusEnvelope.Create(Registry, topic, message, options, Settings.MaxMessageBytes));
    }

    private void PublishFast(BusEnvelope envelope)
    {
        _mediator.Tell(new Publish(envelope.Topic, envelope));
        if (!_routing.Topics.IsEmpty)
            foreach (var target in RoutesOf(envelope.Topic))
                _mediator.Tell(new Publish(target, envelope, sendOneMessageToEachGroup: target.StartsWith(BusNames.GroupPrefix, StringComparison.Ordinal)));
        MetricsCounters.Published(envelope.Topic, queue: false);
    }

    /// <summary>Subscribes <paramref name="handler"/> to <paramref name="topic"/> (an exact name, or a pattern such as
    /// <c>intel.*</c> on the fast path). Messages of other types than <typeparamref name="T"/> on the topic are skipped
    /// (subscribe with <c>object</c> to get all). The task completes when the subscription is registered on this node;
    /// other nodes see it after the pub-sub gossip interval (and, for patterns and groups, the routing refresh).</summary>
    public Task<IBusSubscription> SubscribeAsync<T>(string topic, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions? options = null) => SubscribeCoreAsync(topic, handler, options, deferrable: false);

    /// <summary>A durable subscription or queue consumer whose handler may defer the acknowledgement
    /// (<see cref="BusMessage{T}.Deferral"/>): the committable stream sources.</summary>
    internal Task<IBusSubscription> SubscribeDeferredAsync<T>(string topic, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions options, bool queue)
    {
        if (!queue) return SubscribeCoreAsync(topic, handler, options with { Durable = true }, deferrable: true);
        ArgumentNullException.ThrowIfNull(handler);
        TopicNames.Validate(topic, kind: "queue");
        return StartMemberAsync(topic, null, [BusNames.Consumer(BusNames.QueueLog(topic), "")], Settings.QueuePrefetch,
            DeadLetterSource.Queue, handler, options, deferrable: true);
    }

    private async Task<IBusSubscription> SubscribeCoreAsync<T>(string topic, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions? options, bool deferrable)
    {
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new SubscriptionOptions();
        if (options.Group is not null) TopicNames.Validate(options.Group, kind: "group");
        if (options.Durable)
        {
            TopicNames.Validate(topic, kind: "durable topic");
            var group = options.Group ?? "default";
            var partitions = Settings.PartitionsOf(topic);
            var ids = Enumerable.Range(0, partitions).Select(p => BusNames.Consumer(BusNames.TopicLog(topic, p), group)).ToArray();
            return await StartMemberAsync(topic, group, ids, Settings.MaxInFlight, DeadLetterSource.Durable, handler, options, deferrable);
        }

        TopicNames.Validate(topic, allowWildcards: true);
        var bufferSize = options.BufferSize ?? Settings.SubscriberBufferSize;
        if (bufferSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "BufferSize must be at least 1.");
        var runner = new HandlerRunner<T>(this, $"{topic}/{options.Group ?? "*"}", DeadLetterSource.Topic, handler, options, null);
        long dropped = 0;
        var overflow = options.Overflow;
        Action<BusEnvelope> onDropped = e =>
        {
            MetricsCounters.Dropped();
            if (Interlocked.Increment(ref dropped) % 10_000 == 1)
                Log.Warning("Bus subscriber {0}: buffer of {1} full, dropping ({2}, {3} so far); message {4}",
                    runner.Subscriber, bufferSize, overflow, dropped, e.Id);
        };
        var mediatorTopic = options.Group is null ? topic : BusNames.GroupPrefix + topic;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stop = new CancellationTokenSource();
        var token = stop.Token;
        var subscriberGroup = options.Group;
        var mediator = _mediator;
        var actor = _system.ActorOf(Props.Create(() => new TopicSubscriberActor<T>(mediator, mediatorTopic, subscriberGroup, runner, bufferSize,
                overflow, onDropped, ready, token)),
            $"bus-sub-{Guid.NewGuid():N}");
        _localTopics.AddOrUpdate(mediatorTopic, 1, (_, n) => n + 1);
        var subscription = new BusSubscription(topic, options.Group, actor, stop, MetricsCounters, () =>
        {
            if (_localTopics.AddOrUpdate(mediatorTopic, 0, (_, n) => n - 1) <= 0) _localTopics.TryRemove(KeyValuePair.Create(mediatorTopic, 0));
        });
        MetricsCounters.SubscriptionStarted();
        await AwaitRegisteredAsync(subscription, ready, $"Subscribing to '{topic}'");
        AddRoute(mediatorTopic);
        return subscription;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Queues
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Journals <paramref name="message"/> on <paramref name="queue"/>; returns once it is durable.</summary>
    public async Task<PublishReceipt> EnqueueAsync(string queue, object message, PublishOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        TopicNames.Validate(queue, kind: "queue");
        using var activity = BusTracing.StartPublish("enqueue", queue);
        try
        {
            var envelope = BusEnvelope.Create(Registry, queue, message, options, Settings.MaxMessageBytes);
            activity?.SetTag("messaging.message.id", envelope.Id);
            var seq = await AppendAsync(BusNames.QueueLog(queue), envelope, cancellationToken);
            return new PublishReceipt(envelope.Id, null, seq);
        }
        catch (Exception e)
        {
            EventDrivenTracing.Fail(activity, e);
            throw;
        }
    }

    /// <summary>Consumes <paramref name="queue"/>: each message goes to one consumer (of all those on every node) at a
    /// time and is acknowledged when <paramref name="handler"/> completes (or it is dead-lettered); a consumer that dies
    /// or stops heartbeating has its unacknowledged messages redelivered to another.</summary>
    public Task<IBusSubscription> ConsumeAsync<T>(string queue, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        TopicNames.Validate(queue, kind: "queue");
        options ??= new SubscriptionOptions();
        return StartMemberAsync(queue, null, [BusNames.Consumer(BusNames.QueueLog(queue), "")], Settings.QueuePrefetch,
            DeadLetterSource.Queue, handler, options);
    }

    private async Task<IBusSubscription> StartMemberAsync<T>(string name, string? group, string[] consumerIds, int prefetch,
        DeadLetterSource source, Func<BusMessage<T>, CancellationToken, Task> handler, SubscriptionOptions options, bool deferrable = false)
    {
        var runner = new HandlerRunner<T>(this, group is null ? name : $"{name}/{group}", source, handler, options, Settings.HandlerTimeout);
        var region = await ConsumersAsync();
        // Bounded: a consumer has at most `prefetch` deliveries out to a member, and a member holds each at most once,
        // so the channel fills only if something is wrong; then a delivery is dropped and redelivered later.
        var channel = Channel.CreateBounded<Deliver>(new BoundedChannelOptions(2 * prefetch * consumerIds.Length)
            { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        var held = new HeldDeliveries(Math.Max(1024, 4 * prefetch * consumerIds.Length));
        var log = Log;
        var actor = _system.ActorOf(Props.Create(() => new ConsumerMemberActor(region, consumerIds, prefetch, Settings.HeartbeatInterval, channel.Writer,
                held, log)),
            $"bus-member-{Guid.NewGuid():N}");
        var stop = new CancellationTokenSource();
        var subscription = new BusSubscription(name, group, actor, stop, MetricsCounters,
            () => { foreach (var id in consumerIds) MetricsCounters.Depth.TryRemove(id, out _); });
        subscription.Loop = Task.Run(() => HandlerLoops.DurableAsync(channel.Reader, runner, region, consumerIds, held, Log, stop.Token, deferrable));
        MetricsCounters.SubscriptionStarted();
        foreach (var id in consumerIds) MetricsCounters.Depth.TryAdd(id, 0);
        return subscription;
    }

    /// <summary>Appends to a log; the message id is the append's idempotency key, except for a dead letter sent again
    /// (<paramref name="replay"/>): it keeps its message id but is a new append, not a repeat of the first one.</summary>
    private async Task<long> AppendAsync(string logId, BusEnvelope envelope, CancellationToken cancellationToken, bool replay = false)
    {
        var options = new CommandOptions { CommandId = replay ? $"{envelope.Id}~replay~{Guid.NewGuid():N}" : envelope.Id };
        var logs = await LogsAsync();
        CommandResult result;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                // The message id is the append's idempotency key: a publish resent (by the repository during a hand-off,
                // or by the caller with the same MessageId) is journaled once within the log's idempotency window.
                result = await logs.SendAsync(logId, new AppendToLog(envelope), options, cancellationToken);
                break;
            }
            catch (AggregateOverloadedException) when (attempt < 40)
            {
                // The log is still loading and holds its maximum of waiting appends (a burst to a cold partition):
                // nothing was written, so wait a little and append again. 10 ms doubling to 1 s, about 30 s in all.
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 10 * Math.Pow(2, attempt))), cancellationToken);
            }
        }
        if (result is not CommandAccepted accepted)
            throw new InvalidOperationException($"The log of '{envelope.Topic}' refused the message: {(result as CommandRejected)?.Reason}");
        Notify(logId, accepted.Version);
        MetricsCounters.Published(envelope.Topic, queue: BusNames.IsQueueLog(logId));
        return accepted.Version;
    }

    private readonly ConcurrentDictionary<string, long> _pendingNotifications = new(StringComparer.Ordinal);

    /// <summary>Tells the log's consumers that it grew. Appends that complete within the same millisecond share one
    /// notification (a burst of publishes would otherwise send one pub-sub message per message).</summary>
    private void Notify(string logId, long sequence)
    {
        var first = false;
        _pendingNotifications.AddOrUpdate(logId, _ => { first = true; return sequence; }, (_, s) => Math.Max(s, sequence));
        if (!first) return;
        _ = Task.Delay(1).ContinueWith(_ =>
        {
            if (_pendingNotifications.TryRemove(logId, out var latest))
                _mediator.Tell(new Publish(BusNames.LogNotifyPrefix + logId, new LogAppended(logId, latest)));
        }, TaskScheduler.Default);
    }

    internal async Task RepublishAsync(BusEnvelope envelope, DeadLetterSource source)
    {
        switch (source)
        {
            case DeadLetterSource.Topic:
                PublishFast(envelope);
                break;
            case DeadLetterSource.Durable:
            {
                var partition = BusNames.Partition(envelope.Id, Settings.PartitionsOf(envelope.Topic));
                await AppendAsync(BusNames.TopicLog(envelope.Topic, partition), envelope, default, replay: true);
                break;
            }
            default:
                await AppendAsync(BusNames.QueueLog(envelope.Topic), envelope, default, replay: true);
                break;
        }
    }

    private async Task<IActorRef> StartConsumersAsync()
    {
        var sharding = ClusterSharding.Get(_system);
        var settings = ClusterShardingSettings.Create(_system).WithPassivateIdleAfter(TimeSpan.FromMinutes(2));
        var mediator = _mediator;
        var store = Store;
        var busSettings = Settings;
        var metrics = MetricsCounters;
        return await sharding.StartAsync("EdBusConsumer", id => DurableConsumerActor.Props(id, busSettings, store, mediator, metrics), settings,
            new ConsumerMessageExtractor(), sharding.DefaultShardAllocationStrategy(settings), DurableConsumerActor.Stop.Instance);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Request-reply
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Sends <paramref name="request"/> to one handler of <paramref name="subject"/> (one per handler group) and
    /// returns its reply. Throws <see cref="TimeoutException"/> naming the subject when no reply comes in time and
    /// <see cref="RequestFailedException"/> when the handler threw. The temporary reply actor is stopped either way.</summary>
    public async Task<TReply> RequestAsync<TReply>(string subject, object request, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        TopicNames.Validate(subject, kind: "subject");
        var wait = timeout ?? Settings.RequestTimeout;
        if (wait <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), "The timeout must be positive.");
        using var activity = BusTracing.StartPublish("request", subject);
        var envelope = BusEnvelope.Create(Registry, subject, request, null, Settings.MaxMessageBytes);
        object answer;
        try
        {
            answer = await _mediator.Ask<object>(new Publish(BusNames.RequestPrefix + subject, envelope, sendOneMessageToEachGroup: true),
                wait, cancellationToken);
        }
        catch (AskTimeoutException)
        {
            throw new TimeoutException($"No reply to the request on subject '{subject}' within {wait.TotalMilliseconds:0} ms " +
                                       "(no handler registered, or the handler is too slow).");
        }
        MetricsCounters.Published();
        if (answer is not BusReply reply) throw new InvalidOperationException($"Unexpected reply {answer.GetType()} on '{subject}'.");
        if (!reply.Ok) throw new RequestFailedException(subject, reply.ErrorType ?? "Exception", reply.Error ?? "");
        var value = Registry.Deserialize(reply.Data!, reply.Type!);
        return value is TReply typed
            ? typed
            : throw new InvalidCastException($"The handler of '{subject}' replied with {value.GetType().Name}, not {typeof(TReply).Name}.");
    }

    /// <summary>Answers requests on <paramref name="subject"/> with <paramref name="handler"/>. Handlers in the same
    /// <paramref name="group"/> (on any node) share the requests: each request is answered by one of them.</summary>
    public async Task<IBusSubscription> HandleRequestsAsync<TRequest, TReply>(string subject,
        Func<TRequest, CancellationToken, Task<TReply>> handler, string group = "default")
        where TReply : notnull
    {
        TopicNames.Validate(subject, kind: "subject");
        TopicNames.Validate(group, kind: "group");
        ArgumentNullException.ThrowIfNull(handler);
        var stop = new CancellationTokenSource();
        var registry = Registry;
        var metrics = MetricsCounters;
        async Task<BusReply> Handle(BusEnvelope e)
        {
            using var activity = BusTracing.StartDelivery(e, $"{subject}/{group}", System.Diagnostics.ActivityKind.Server);
            try
            {
                var request = registry.Deserialize(e.Data, e.Type);
                if (request is not TRequest typed)
                    return new BusReply(false, null, null, nameof(InvalidCastException), $"Expected {typeof(TRequest).Name}, got {request.GetType().Name}.");
                var reply = await handler(typed, stop.Token);
                var data = registry.Serialize(reply, out var type);
                metrics.Delivered();
                return new BusReply(true, type, data, null, null);
            }
            catch (Exception ex)
            {
                EventDrivenTracing.Fail(activity, ex);
                return new BusReply(false, null, null, ex.GetType().FullName, ex.Message);
            }
        }
        Func<BusEnvelope, Task<BusReply>> handle = Handle;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var actor = _system.ActorOf(Props.Create(() => new RequestHandlerActor(_mediator, BusNames.RequestPrefix + subject, group, ready, handle)),
            $"bus-rr-{Guid.NewGuid():N}");
        MetricsCounters.SubscriptionStarted();
        var subscription = new BusSubscription(subject, group, actor, stop, MetricsCounters);
        await AwaitRegisteredAsync(subscription, ready, $"Handling requests on '{subject}'");
        return subscription;
    }

    /// <summary>Waits for the mediator's subscribe acknowledgement; on timeout the subscription is undone.</summary>
    private static async Task AwaitRegisteredAsync(BusSubscription subscription, TaskCompletionSource ready, string what)
    {
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            await subscription.DisposeAsync();
            throw new TimeoutException($"{what} was not acknowledged by the pub-sub mediator within 30 s.");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Dead letters and metrics
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>The dead-letter queue <paramref name="name"/> (default: <c>akka.event-driven.bus.default-dead-letter-queue</c>).</summary>
    public DeadLetterQueue DeadLetters(string? name = null) => new(this, Store, name ?? Settings.DefaultDeadLetterQueue);

    /// <summary>This node's counters (no I/O). <see cref="BusMetricsSnapshot.QueueDepth"/>
    /// is as of the last <see cref="GetMetricsAsync"/>.</summary>
    public BusMetricsSnapshot Metrics => MetricsCounters.Snapshot();

    /// <summary>The counters plus, for each durable subscription and queue consumed on this node, how many journaled
    /// messages are not yet acknowledged (queue depth / subscription lag), read from the database.</summary>
    public async Task<BusMetricsSnapshot> GetMetricsAsync()
    {
        foreach (var consumerId in MetricsCounters.Depth.Keys.ToList())
        {
            var (logId, _) = BusNames.ParseConsumer(consumerId);
            var head = await Store.HeadAsync(PersistenceIds.For(BusLog.AggregateName, logId));
            var offset = await Store.LoadOffsetAsync(consumerId);
            MetricsCounters.Depth[consumerId] = Math.Max(0, head - offset);
        }
        return MetricsCounters.Snapshot();
    }

    /// <summary>The topics this node knows (published or delivered here, subscribed here, consumed durably here, or
    /// with a subscriber anywhere in the cluster as of the last routing refresh), each with this node's counts and rates
    /// and, for durable subscriptions consumed here, the lag per group (read from the database, as
    /// <see cref="GetMetricsAsync"/>). Ordered by name; per-name counts are kept for at most
    /// <see cref="MaxTrackedNames"/> topics.</summary>
    public async Task<IReadOnlyList<BusDestinationStats>> GetTopicsAsync()
    {
        var snapshot = await GetMetricsAsync();
        var lag = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        foreach (var (consumerId, behind) in snapshot.QueueDepth)
        {
            var (logId, group) = BusNames.ParseConsumer(consumerId);
            if (BusNames.IsQueueLog(logId)) continue;
            var topic = logId[2..logId.LastIndexOf('#')];
            if (!lag.TryGetValue(topic, out var groups)) lag[topic] = groups = new Dictionary<string, long>(StringComparer.Ordinal);
            groups[group] = groups.GetValueOrDefault(group) + behind;
        }
        var names = new SortedSet<string>(MetricsCounters.Topics.Keys, StringComparer.Ordinal);
        names.UnionWith(lag.Keys);
        foreach (var known in _routing.All.Concat(_localTopics.Keys))
        {
            var name = known.StartsWith(BusNames.GroupPrefix, StringComparison.Ordinal) ? known[BusNames.GroupPrefix.Length..] : known;
            if (!name.StartsWith('$') && !TopicNames.IsPattern(name) && names.Count < BusMetrics.MaxNames) names.Add(name);
        }
        return names.Select(name =>
        {
            MetricsCounters.Topics.TryGetValue(name, out var c);
            var (publishedRate, deliveredRate) = c?.Rates() ?? (0, 0);
            var subscriptions = _localTopics.GetValueOrDefault(name) + _localTopics.GetValueOrDefault(BusNames.GroupPrefix + name);
            return new BusDestinationStats(name, c?.ReadPublished ?? 0, c?.ReadDelivered ?? 0, publishedRate, deliveredRate, subscriptions,
                null, lag.TryGetValue(name, out var groups) ? groups : new Dictionary<string, long>());
        }).ToList();
    }

    /// <summary>The queues this node knows (enqueued or consumed here), each with this node's counts and rates and, for
    /// queues consumed here, the depth (read from the database). Ordered by name; at most <see cref="MaxTrackedNames"/>.</summary>
    public async Task<IReadOnlyList<BusDestinationStats>> GetQueuesAsync()
    {
        var snapshot = await GetMetricsAsync();
        var depth = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (consumerId, behind) in snapshot.QueueDepth)
        {
            var (logId, _) = BusNames.ParseConsumer(consumerId);
            if (BusNames.IsQueueLog(logId)) depth[logId[2..]] = depth.GetValueOrDefault(logId[2..]) + behind;
        }
        var names = new SortedSet<string>(MetricsCounters.Queues.Keys, StringComparer.Ordinal);
        names.UnionWith(depth.Keys);
        return names.Select(name =>
        {
            MetricsCounters.Queues.TryGetValue(name, out var c);
            var (publishedRate, deliveredRate) = c?.Rates() ?? (0, 0);
            return new BusDestinationStats(name, c?.ReadPublished ?? 0, c?.ReadDelivered ?? 0, publishedRate, deliveredRate, 0,
                depth.TryGetValue(name, out var d) ? d : null, new Dictionary<string, long>());
        }).ToList();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Routing of patterns and groups
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>False when no subscription to <paramref name="topic"/> (exact, group or pattern) is known in the cluster,
    /// as of the last routing refresh (this node's own subscriptions count at once). Publishers of optional
    /// notifications (saga lifecycle events) use it to skip serializing messages nobody would receive; a subscription
    /// made on another node is seen within the pub-sub gossip interval plus the routing refresh interval.</summary>
    public bool MayHaveSubscribers(string topic)
    {
        var routing = _routing;
        return routing.All.Contains(topic) || (!routing.Topics.IsEmpty && RoutesOf(topic).Length > 0);
    }

    /// <summary>Pattern and group topics this node routes to (diagnostics).</summary>
    internal IReadOnlySet<string> RoutedTopics => _routing.Topics;

    private string[] RoutesOf(string topic)
    {
        var routing = _routing; // one consistent snapshot: the cache always belongs to the set it was computed from
        if (routing.Cache.TryGetValue(topic, out var cached)) return cached;
        var targets = Compute(routing.Topics, topic);
        if (routing.Cache.Count < 10_000) routing.Cache.TryAdd(topic, targets); // bounded: rare topics are computed each time
        return targets;
    }

    private static string[] Compute(ImmutableHashSet<string> routedTopics, string t)
    {
        var targets = new List<string>();
        foreach (var routed in routedTopics)
        {
            var isGroup = routed.StartsWith(BusNames.GroupPrefix, StringComparison.Ordinal);
            var pattern = isGroup ? routed[BusNames.GroupPrefix.Length..] : routed;
            if (isGroup ? pattern == t || (TopicNames.IsPattern(pattern) && TopicNames.Matches(pattern, t))
                        : TopicNames.IsPattern(pattern) && TopicNames.Matches(pattern, t))
                targets.Add(routed);
        }
        return targets.ToArray();
    }

    private void AddRoute(string mediatorTopic)
    {
        while (true)
        {
            var current = _routing;
            var isRouted = mediatorTopic.StartsWith(BusNames.GroupPrefix, StringComparison.Ordinal) || TopicNames.IsPattern(mediatorTopic);
            if (current.All.Contains(mediatorTopic) && (!isRouted || current.Topics.Contains(mediatorTopic))) return;
            var next = new Routing(isRouted ? current.Topics.Add(mediatorTopic) : current.Topics, current.All.Add(mediatorTopic));
            if (Interlocked.CompareExchange(ref _routing, next, current) == current) return;
        }
    }

    private async Task RefreshRoutesAsync()
    {
        try
        {
            var registry = await _mediator.Ask<CurrentTopics>(GetTopics.Instance, Settings.RoutingRefreshInterval + TimeSpan.FromSeconds(1));
            // The mediator reports topic names URL-encoded (as they appear in its actor paths).
            // This node's live subscriptions always count (one made while the registry was being read may be missing).
            var all = registry.Topics.Where(t => !string.IsNullOrEmpty(t)).Select(Uri.UnescapeDataString)
                .Concat(_localTopics.Keys).ToImmutableHashSet();
            var routed = all
                .Where(t => t.StartsWith(BusNames.GroupPrefix, StringComparison.Ordinal) || (!t.StartsWith('$') && TopicNames.IsPattern(t)))
                .ToImmutableHashSet();
            while (true)
            {
                var current = _routing;
                // The local mediator lists this node's own subscriptions at once, and other nodes' after gossip.
                var next = routed;
                if (next.SetEquals(current.Topics) && all.SetEquals(current.All)) break;
                if (Interlocked.CompareExchange(ref _routing, new Routing(next, all), current) == current) break;
            }
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            // the system is stopping, or the mediator is busy: next tick
        }
        catch (Exception e)
        {
            Log.Warning("Event bus: could not refresh pattern and group routes: {0}", e);
        }
    }

    private static void EnsureSerializer(ExtendedActorSystem system)
    {
        if (system.Serialization.FindSerializerForType(typeof(BusEnvelope)) is BusSerializer) return;
        var serializer = new BusSerializer(system);
        system.Serialization.AddSerializer("event-driven-bus", serializer);
        system.Serialization.AddSerializationMap(typeof(IBusWireMessage), serializer);
    }
}

/// <summary>Creates the <see cref="MessageBus"/> extension.</summary>
public sealed class MessageBusProvider : ExtensionIdProvider<MessageBus>
{
    /// <inheritdoc />
    public override MessageBus CreateExtension(ExtendedActorSystem system) => new(system);
}

/// <summary>The embedded <c>reference.conf</c> of the event bus.</summary>
public static class EventBusConfig
{
    private static readonly Lazy<Config> Default =
        new(() => ConfigurationFactory.ParseString(EmbeddedReferenceConfig.Read(typeof(EventBusConfig))));

    /// <summary>The bus defaults under <c>akka.event-driven.bus</c>, plus its serializer binding.</summary>
    public static Config DefaultConfig() => Default.Value;
}
