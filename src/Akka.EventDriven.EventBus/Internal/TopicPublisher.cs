using Akka.Actor;
using Akka.Event;
using Akka.EventDriven.Diagnostics;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>The topics of <see cref="MessageBus"/>: publishing (fast path through <see cref="TopicRouter"/>, or
/// journaled through <see cref="DurableLogs"/>) and subscribing (fast-path subscriber actors, or durable members).</summary>
internal sealed class TopicPublisher
{
    private readonly MessageBus _bus;
    private readonly ExtendedActorSystem _system;
    private readonly IActorRef _mediator;
    private readonly TopicRouter _router;
    private readonly DurableLogs _logs;
    private readonly MediatorBacklog _backlog;
    private long _droppedBehind;

    public TopicPublisher(MessageBus bus, ExtendedActorSystem system, IActorRef mediator, TopicRouter router, DurableLogs logs,
        MediatorBacklog backlog)
    {
        _bus = bus;
        _system = system;
        _mediator = mediator;
        _router = router;
        _logs = logs;
        _backlog = backlog;
    }

    public async Task<PublishReceipt> PublishAsync(string topic, object message, PublishOptions? options, CancellationToken cancellationToken)
    {
        TopicNames.Validate(topic);
        using var activity = BusTracing.StartPublish("publish", topic);
        try
        {
            var envelope = BusEnvelope.Create(_bus.Registry, topic, message, options, _bus.Settings.MaxMessageBytes);
            activity?.SetTag("messaging.message.id", envelope.Id);
            if (options?.Persistent == true) return await _logs.PublishAsync(topic, envelope, options, cancellationToken);
            if (_backlog.Behind(topic, MediatorBacklog.WaitBeyond) is { } behind)
            {
                await behind.WaitAsync(cancellationToken); // one interval: then this publish goes, behind or not
                _backlog.Admit(topic);
            }
            _router.PublishFast(envelope);
            return new PublishReceipt(envelope.Id);
        }
        catch (Exception e)
        {
            EventDrivenTracing.Fail(activity, e);
            throw;
        }
    }

    public void Publish(string topic, object message, PublishOptions? options)
    {
        if (options?.Persistent == true) throw new ArgumentException("Use PublishAsync for durable (persistent) messages.", nameof(options));
        TopicNames.Validate(topic);
        using var activity = BusTracing.StartPublish("publish", topic);
        if (_backlog.Behind(topic, MediatorBacklog.DropBeyond) is not null)
        {
            // No task to wait on: while the mediator is too far behind, the message is dropped (at most once, as the
            // fast path promises), counted and logged, rather than grow its mailbox without bound.
            _bus.MetricsCounters.Dropped();
            if (Interlocked.Increment(ref _droppedBehind) % 10_000 == 1)
                _bus.Log.Warning("Bus: the pub-sub mediator is more than about 128k messages behind this node's publishers; " +
                                 "Publish (no receipt) drops meanwhile ({0} so far, this one to '{1}'); PublishAsync waits instead",
                    _droppedBehind, topic);
            return;
        }
        _router.PublishFast(BusEnvelope.Create(_bus.Registry, topic, message, options, _bus.Settings.MaxMessageBytes));
    }

    public Task<IBusSubscription> SubscribeDeferredAsync<T>(string topic, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions options, bool queue) =>
        queue
            ? _logs.ConsumeAsync(topic, handler, options, deferrable: true)
            : SubscribeAsync(topic, handler, options with { Durable = true }, deferrable: true);

    public async Task<IBusSubscription> SubscribeAsync<T>(string topic, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions? options, bool deferrable)
    {
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new SubscriptionOptions();
        if (options.Group is not null) TopicNames.Validate(options.Group, kind: "group");
        if (options.Durable) return await _logs.SubscribeDurableAsync(topic, handler, options, deferrable);

        TopicNames.Validate(topic, allowWildcards: true);
        var settings = _bus.Settings;
        var metrics = _bus.MetricsCounters;
        var log = _bus.Log;
        var bufferSize = options.BufferSize ?? settings.SubscriberBufferSize;
        if (bufferSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "BufferSize must be at least 1.");
        var runner = new HandlerRunner<T>(_bus, $"{topic}/{options.Group ?? "*"}", DeadLetterSource.Topic, handler, options, null);
        long dropped = 0;
        var overflow = options.Overflow;
        Action<BusEnvelope> onDropped = e =>
        {
            metrics.Dropped();
            if (Interlocked.Increment(ref dropped) % 10_000 == 1)
                log.Warning("Bus subscriber {0}: buffer of {1} full, dropping ({2}, {3} so far); message {4}",
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
        _router.AddLocal(mediatorTopic);
        var router = _router;
        var subscription = new BusSubscription(topic, options.Group, actor, stop, metrics, () => router.RemoveLocal(mediatorTopic));
        metrics.SubscriptionStarted();
        await AwaitRegisteredAsync(subscription, ready, $"Subscribing to '{topic}'");
        _router.AddRoute(mediatorTopic);
        return subscription;
    }

    /// <summary>Waits for the mediator's subscribe acknowledgement; on timeout the subscription is undone.</summary>
    public static async Task AwaitRegisteredAsync(BusSubscription subscription, TaskCompletionSource ready, string what)
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
}
