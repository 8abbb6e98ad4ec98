using Akka.Actor;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>Publishes lifecycle events on the actor system's local <c>EventStream</c>
/// (<c>system.EventStream.Subscribe(actor, typeof(SagaLifecycleEvent))</c>).</summary>
/// <param name="system">The actor system.</param>
public sealed class EventStreamSagaEventPublisher(ActorSystem system) : ISagaEventPublisher
{
    /// <inheritdoc />
    public Task PublishAsync(SagaLifecycleEvent lifecycleEvent, CancellationToken cancellationToken)
    {
        system.EventStream.Publish(lifecycleEvent);
        return Task.CompletedTask;
    }
}
