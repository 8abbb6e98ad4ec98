using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.EventDriven.EventBus.Internal;
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
    private readonly ICancelable _refresh;
    private readonly TopicRouter _router;
    private readonly DurableLogs _logs;
    private readonly TopicPublisher _topics;
    private readonly RequestReply _requests;
    private readonly BusStatistics _statistics;

    internal MessageBus(ExtendedActorSystem system)
    {
        system.Settings.InjectTopLevelFallback(EventBusConfig.DefaultConfig());
        BusSetup.EnsureSerializer(system);
        Settings = BusSettings.FromConfig(system.Settings.Config);
        Registry = MessageTypes.For(system);
        if (!Registry.IsRegistered(typeof(BusEnvelope))) Registry.Register<BusEnvelope>("bus.message", 1);
        if (!Registry.IsRegistered(typeof(AppendToLog))) Registry.Register<AppendToLog>("bus.append", 1);
        if (!Registry.IsRegistered(typeof(BusLogState))) Registry.Register<BusLogState>("bus.log-state", 1);
        Store = new BusStore(StoreSettings.FromConfig(system.Settings.Config));
        Log = Logging.GetLogger(system, typeof(MessageBus));
        MetricsCounters = new BusMetrics(system.Name);
        var mediator = DistributedPubSub.Get(system).Mediator;
        BusSetup.CheckFrameSize(system.Settings.Config, Settings);
        _router = new TopicRouter(mediator, Settings, Log, MetricsCounters);
        _logs = new DurableLogs(this, system, mediator, _router);
        _topics = new TopicPublisher(this, system, mediator, _router, _logs, new MediatorBacklog(mediator, system.WhenTerminated));
        _requests = new RequestReply(this, system, mediator);
        _statistics = new BusStatistics(MetricsCounters, Store, _router);
        _refresh = system.Scheduler.Advanced.ScheduleRepeatedlyCancelable(Settings.RoutingRefreshInterval, Settings.RoutingRefreshInterval,
            () => _ = _router.RefreshRoutesAsync());
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
    public Task StartAsync() => _logs.StartAsync();

    // ------------------------------------------------------------------------------------------------------------
    // Topics
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Publishes <paramref name="message"/> (a registered type) on <paramref name="topic"/>. Fast path (default):
    /// delivered at most once to every current subscriber in the cluster; returns once handed to pub-sub. With
    /// <see cref="PublishOptions.Persistent"/>: returns once journaled (durable subscriptions get it at least once).
    /// Throws <see cref="ArgumentException"/> for an invalid topic name, <see cref="UnregisteredMessageTypeException"/>
    /// for an unregistered type and <see cref="MessageTooLargeException"/> before anything is sent or journaled.</summary>
    public Task<PublishReceipt> PublishAsync(string topic, object message, PublishOptions? options = null,
        CancellationToken cancellationToken = default) => _topics.PublishAsync(topic, message, options, cancellationToken);

    /// <summary>Fast-path publish without a task: for hot loops that do not need a receipt.</summary>
    public void Publish(string topic, object message, PublishOptions? options = null) => _topics.Publish(topic, message, options);

    /// <summary>Subscribes <paramref name="handler"/> to <paramref name="topic"/> (an exact name, or a pattern such as
    /// <c>intel.*</c> on the fast path). Messages of other types than <typeparamref name="T"/> on the topic are skipped
    /// (subscribe with <c>object</c> to get all). The task completes when the subscription is registered on this node;
    /// other nodes see it after the pub-sub gossip interval (and, for patterns and groups, the routing refresh).</summary>
    public Task<IBusSubscription> SubscribeAsync<T>(string topic, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions? options = null) => _topics.SubscribeAsync(topic, handler, options, deferrable: false);

    /// <summary>A durable subscription or queue consumer whose handler may defer the acknowledgement
    /// (<see cref="BusMessage{T}.Deferral"/>): the committable stream sources.</summary>
    internal Task<IBusSubscription> SubscribeDeferredAsync<T>(string topic, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions options, bool queue) => _topics.SubscribeDeferredAsync(topic, handler, options, queue);

    // ------------------------------------------------------------------------------------------------------------
    // Queues
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Journals <paramref name="message"/> on <paramref name="queue"/>; returns once it is durable.</summary>
    public Task<PublishReceipt> EnqueueAsync(string queue, object message, PublishOptions? options = null,
        CancellationToken cancellationToken = default) => _logs.EnqueueAsync(queue, message, options, cancellationToken);

    /// <summary>Consumes <paramref name="queue"/>: each message goes to one consumer (of all those on every node) at a
    /// time and is acknowledged when <paramref name="handler"/> completes (or it is dead-lettered); a consumer that dies
    /// or stops heartbeating has its unacknowledged messages redelivered to another.</summary>
    public Task<IBusSubscription> ConsumeAsync<T>(string queue, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions? options = null) => _logs.ConsumeAsync(queue, handler, options);

    internal Task RepublishAsync(BusEnvelope envelope, DeadLetterSource source) => _logs.RepublishAsync(envelope, source);

    // ------------------------------------------------------------------------------------------------------------
    // Request-reply
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Sends <paramref name="request"/> to one handler of <paramref name="subject"/> (one per handler group) and
    /// returns its reply. Throws <see cref="TimeoutException"/> naming the subject when no reply comes in time and
    /// <see cref="RequestFailedException"/> when the handler threw. The temporary reply actor is stopped either way.</summary>
    public Task<TReply> RequestAsync<TReply>(string subject, object request, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default) => _requests.RequestAsync<TReply>(subject, request, timeout, cancellationToken);

    /// <summary>Answers requests on <paramref name="subject"/> with <paramref name="handler"/>. Handlers in the same
    /// <paramref name="group"/> (on any node) share the requests: each request is answered by one of them.</summary>
    public Task<IBusSubscription> HandleRequestsAsync<TRequest, TReply>(string subject,
        Func<TRequest, CancellationToken, Task<TReply>> handler, string group = "default")
        where TReply : notnull => _requests.HandleRequestsAsync(subject, handler, group);

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
    public Task<BusMetricsSnapshot> GetMetricsAsync() => _statistics.GetMetricsAsync();

    /// <summary>The topics this node knows (published or delivered here, subscribed here, consumed durably here, or
    /// with a subscriber anywhere in the cluster as of the last routing refresh), each with this node's counts and rates
    /// and, for durable subscriptions consumed here, the lag per group (read from the database, as
    /// <see cref="GetMetricsAsync"/>). Ordered by name; per-name counts are kept for at most
    /// <see cref="MaxTrackedNames"/> topics.</summary>
    public Task<IReadOnlyList<BusDestinationStats>> GetTopicsAsync() => _statistics.GetTopicsAsync();

    /// <summary>The queues this node knows (enqueued or consumed here), each with this node's counts and rates and, for
    /// queues consumed here, the depth (read from the database). Ordered by name; at most <see cref="MaxTrackedNames"/>.</summary>
    public Task<IReadOnlyList<BusDestinationStats>> GetQueuesAsync() => _statistics.GetQueuesAsync();

    // ------------------------------------------------------------------------------------------------------------
    // Routing of patterns and groups
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>False when no subscription to <paramref name="topic"/> (exact, group or pattern) is known in the cluster,
    /// as of the last routing refresh (this node's own subscriptions count at once). Publishers of optional
    /// notifications (saga lifecycle events) use it to skip serializing messages nobody would receive; a subscription
    /// made on another node is seen within the pub-sub gossip interval plus the routing refresh interval.</summary>
    public bool MayHaveSubscribers(string topic) => _router.MayHaveSubscribers(topic);

    /// <summary>Pattern and group topics this node routes to (diagnostics).</summary>
    internal IReadOnlySet<string> RoutedTopics => _router.RoutedTopics;
}
