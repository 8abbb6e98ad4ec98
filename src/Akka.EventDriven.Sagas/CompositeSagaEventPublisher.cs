using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>Publishes each lifecycle event through several publishers in turn (the default: the EventStream and the bus).</summary>
/// <param name="publishers">The publishers.</param>
public sealed class CompositeSagaEventPublisher(params ISagaEventPublisher[] publishers) : ISagaEventPublisher
{
    /// <inheritdoc />
    public async Task PublishAsync(SagaLifecycleEvent lifecycleEvent, CancellationToken cancellationToken)
    {
        foreach (var p in publishers) await p.PublishAsync(lifecycleEvent, cancellationToken);
    }
}
