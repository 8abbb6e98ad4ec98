using System.Collections.Concurrent;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.EventDriven.EventSourcing;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>The journaled side of <see cref="MessageBus"/>: the log repository and consumer sharding region (started
/// once, restarted after a failed start), appends to topic and queue logs with their notifications, queues, durable
/// subscription members, and dead letters sent again.</summary>
internal sealed class DurableLogs
{
    private readonly MessageBus _bus;
    private readonly ExtendedActorSystem _system;
    private readonly IActorRef _mediator;
    private readonly TopicRouter _router;
    private readonly object _startLock = new();
    private Task<AggregateRepository<BusLogState>>? _logs;
    private Task<IActorRef>? _consumers;
    private readonly ConcurrentDictionary<string, long> _pendingNotifications = new(StringComparer.Ordinal);

    public DurableLogs(MessageBus bus, ExtendedActorSystem system, IActorRef mediator, TopicRouter router)
    {
        _bus = bus;
        _system = system;
        _mediator = mediator;
        _router = router;
    }

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

    private async Task<IActorRef> StartConsumersAsync()
    {
        var sharding = ClusterSharding.Get(_system);
        var settings = ClusterShardingSettings.Create(_system).WithPassivateIdleAfter(TimeSpan.FromMinutes(2));
        var mediator = _mediator;
        var store = _bus.Store;
        var busSettings = _bus.Settings;
        var metrics = _bus.MetricsCounters;
        return await sharding.StartAsync("EdBusConsumer", id => DurableConsumerActor.Props(id, busSettings, store, mediator, metrics), settings,
            new ConsumerMessageExtractor(), sharding.DefaultShardAllocationStrategy(settings), DurableConsumerActor.Stop.Instance);
    }

    /// <summary>The persistent publish: journals the envelope on its topic's partition.</summary>
    public async Task<PublishReceipt> PublishAsync(string topic, BusEnvelope envelope, PublishOptions options, CancellationToken cancellationToken)
    {
        var partitions = _bus.Settings.PartitionsOf(topic);
        var partition = BusNames.Partition(options.PartitionKey ?? envelope.Id, partitions);
        var seq = await AppendAsync(BusNames.TopicLog(topic, partition), envelope, cancellationToken);
        return new PublishReceipt(envelope.Id, partition, seq);
    }

    public async Task<PublishReceipt> EnqueueAsync(string queue, object message, PublishOptions? options, CancellationToken cancellationToken)
    {
        TopicNames.Validate(queue, kind: "queue");
        using var activity = BusTracing.StartPublish("enqueue", queue);
        try
        {
            var envelope = BusEnvelope.Create(_bus.Registry, queue, message, options, _bus.Settings.MaxMessageBytes);
            activity?.SetTag("messaging.message.id", envelope.Id);
            var seq = await AppendAsync(BusNames.QueueLog(queue), envelope, cancellationToken);
            return new PublishReceipt(envelope.Id, null, seq);
        }
        catch (Exception e)
        {
            Diagnostics.EventDrivenTracing.Fail(activity, e);
            throw;
        }
    }

    public Task<IBusSubscription> ConsumeAsync<T>(string queue, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions? options, bool deferrable = false)
    {
        ArgumentNullException.ThrowIfNull(handler);
        TopicNames.Validate(queue, kind: "queue");
        options ??= new SubscriptionOptions();
        return StartMemberAsync(queue, null, [BusNames.Consumer(BusNames.QueueLog(queue), "")], _bus.Settings.QueuePrefetch,
            DeadLetterSource.Queue, handler, options, deferrable);
    }

    /// <summary>A durable subscription: one member consuming every partition of <paramref name="topic"/> for its group
    /// (the options' group is validated by the caller).</summary>
    public Task<IBusSubscription> SubscribeDurableAsync<T>(string topic, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions options, bool deferrable)
    {
        TopicNames.Validate(topic, kind: "durable topic");
        var group = options.Group ?? "default";
        var partitions = _bus.Settings.PartitionsOf(topic);
        var ids = Enumerable.Range(0, partitions).Select(p => BusNames.Consumer(BusNames.TopicLog(topic, p), group)).ToArray();
        return StartMemberAsync(topic, group, ids, _bus.Settings.MaxInFlight, DeadLetterSource.Durable, handler, options, deferrable);
    }

    private async Task<IBusSubscription> StartMemberAsync<T>(string name, string? group, string[] consumerIds, int prefetch,
        DeadLetterSource source, Func<BusMessage<T>, CancellationToken, Task> handler, SubscriptionOptions options, bool deferrable = false)
    {
        var settings = _bus.Settings;
        var metrics = _bus.MetricsCounters;
        var runner = new HandlerRunner<T>(_bus, group is null ? name : $"{name}/{group}", source, handler, options, settings.HandlerTimeout);
        var region = await ConsumersAsync();
        // The group is known to retention before the subscription returns: a message published after this call is kept
        // until the group acknowledged it, however late its consumer entity starts.
        foreach (var id in consumerIds) await _bus.Store.RegisterConsumerAsync(id, BusNames.ParseConsumer(id).LogId);
        // Bounded: a consumer has at most `prefetch` deliveries out to a member, and a member holds each at most once,
        // so the channel fills only if something is wrong; then a delivery is dropped and redelivered later.
        var channel = Channel.CreateBounded<Deliver>(new BoundedChannelOptions(2 * prefetch * consumerIds.Length)
            { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        var held = new HeldDeliveries(Math.Max(1024, 4 * prefetch * consumerIds.Length));
        var log = _bus.Log;
        var heartbeat = settings.HeartbeatInterval;
        var actor = _system.ActorOf(Props.Create(() => new ConsumerMemberActor(region, consumerIds, prefetch, heartbeat, channel.Writer,
                held, log)),
            $"bus-member-{Guid.NewGuid():N}");
        var stop = new CancellationTokenSource();
        var subscription = new BusSubscription(name, group, actor, stop, metrics,
            () => { foreach (var id in consumerIds) metrics.Depth.TryRemove(id, out _); });
        subscription.Loop = Task.Run(() => HandlerLoops.DurableAsync(channel.Reader, runner, region, consumerIds, held, log, stop.Token, deferrable));
        metrics.SubscriptionStarted();
        foreach (var id in consumerIds) metrics.Depth.TryAdd(id, 0);
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
        _bus.MetricsCounters.Published(envelope.Topic, queue: BusNames.IsQueueLog(logId));
        return accepted.Version;
    }

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

    /// <summary>Sends a dead letter again where it came from: the fast path, or a new append to its log.</summary>
    public async Task RepublishAsync(BusEnvelope envelope, DeadLetterSource source)
    {
        switch (source)
        {
            case DeadLetterSource.Topic:
                _router.PublishFast(envelope);
                break;
            case DeadLetterSource.Durable:
            {
                var partition = BusNames.Partition(envelope.Id, _bus.Settings.PartitionsOf(envelope.Topic));
                await AppendAsync(BusNames.TopicLog(envelope.Topic, partition), envelope, default, replay: true);
                break;
            }
            default:
                await AppendAsync(BusNames.QueueLog(envelope.Topic), envelope, default, replay: true);
                break;
        }
    }
}
