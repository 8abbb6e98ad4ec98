using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>Publishes saga lifecycle events so other parts can react (at most once, in order per saga, after the
/// event is durable; a failing publisher is logged and never stops the saga). Default: the EventStream and the event
/// bus (<see cref="EventStreamSagaEventPublisher"/>, <see cref="BusSagaEventPublisher"/>).</summary>
public interface ISagaEventPublisher
{
    /// <summary>Publishes <paramref name="lifecycleEvent"/>.</summary>
    Task PublishAsync(SagaLifecycleEvent lifecycleEvent, CancellationToken cancellationToken);
}
