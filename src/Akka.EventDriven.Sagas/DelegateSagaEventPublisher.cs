using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>Publishes lifecycle events through a delegate, e.g. onto the event bus:
/// <c>new DelegateSagaEventPublisher((e, ct) =&gt; bus.PublishAsync("saga-events", e, ct))</c>.</summary>
/// <param name="publish">The delegate.</param>
public sealed class DelegateSagaEventPublisher(Func<SagaLifecycleEvent, CancellationToken, Task> publish) : ISagaEventPublisher
{
    /// <inheritdoc />
    public Task PublishAsync(SagaLifecycleEvent lifecycleEvent, CancellationToken cancellationToken) => publish(lifecycleEvent, cancellationToken);
}
