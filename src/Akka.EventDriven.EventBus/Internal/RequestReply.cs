using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.EventDriven.Diagnostics;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>Request-reply of <see cref="MessageBus"/>: requests asked through the pub-sub mediator (one handler per
/// group), and handler actors that answer them.</summary>
internal sealed class RequestReply
{
    private readonly MessageBus _bus;
    private readonly ExtendedActorSystem _system;
    private readonly IActorRef _mediator;

    public RequestReply(MessageBus bus, ExtendedActorSystem system, IActorRef mediator)
    {
        _bus = bus;
        _system = system;
        _mediator = mediator;
    }

    public async Task<TReply> RequestAsync<TReply>(string subject, object request, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        TopicNames.Validate(subject, kind: "subject");
        var wait = timeout ?? _bus.Settings.RequestTimeout;
        if (wait <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), "The timeout must be positive.");
        using var activity = BusTracing.StartPublish("request", subject);
        var envelope = BusEnvelope.Create(_bus.Registry, subject, request, null, _bus.Settings.MaxMessageBytes);
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
        _bus.MetricsCounters.Published();
        if (answer is not BusReply reply) throw new InvalidOperationException($"Unexpected reply {answer.GetType()} on '{subject}'.");
        if (!reply.Ok) throw new RequestFailedException(subject, reply.ErrorType ?? "Exception", reply.Error ?? "");
        var value = _bus.Registry.Deserialize(reply.Data!, reply.Type!);
        return value is TReply typed
            ? typed
            : throw new InvalidCastException($"The handler of '{subject}' replied with {value.GetType().Name}, not {typeof(TReply).Name}.");
    }

    public async Task<IBusSubscription> HandleRequestsAsync<TRequest, TReply>(string subject,
        Func<TRequest, CancellationToken, Task<TReply>> handler, string group)
        where TReply : notnull
    {
        TopicNames.Validate(subject, kind: "subject");
        TopicNames.Validate(group, kind: "group");
        ArgumentNullException.ThrowIfNull(handler);
        var stop = new CancellationTokenSource();
        var registry = _bus.Registry;
        var metrics = _bus.MetricsCounters;
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
        var mediator = _mediator;
        var (concurrency, queued) = (_bus.Settings.RequestHandlerConcurrency, _bus.Settings.RequestHandlerQueue);
        var actor = _system.ActorOf(Props.Create(() => new RequestHandlerActor(mediator, BusNames.RequestPrefix + subject, group, ready,
                handle, concurrency, queued)),
            $"bus-rr-{Guid.NewGuid():N}");
        metrics.SubscriptionStarted();
        var subscription = new BusSubscription(subject, group, actor, stop, metrics);
        await TopicPublisher.AwaitRegisteredAsync(subscription, ready, $"Handling requests on '{subject}'");
        return subscription;
    }
}
