using Akka.Actor;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>
/// Publishes lifecycle events on the event bus (fast path), on topic <c>saga.{saga name}</c> (characters a topic cannot
/// hold become '-'): the payload is the journaled event itself (<see cref="SagaStarted"/>, <see cref="SagaCompleted"/>,
/// …, registered as <c>saga.*.v1</c>), the correlation id is the saga id, and headers <c>saga-id</c>,
/// <c>saga-name</c>, <c>saga-state</c> and <c>saga-sequence-nr</c> say where it comes from. Subscribe to one saga type
/// with <c>bus.SubscribeAsync&lt;SagaCompleted&gt;("saga.entity-enrichment", …)</c> or to all with <c>"saga.*"</c>.
/// </summary>
/// <param name="system">The actor system whose bus is used.</param>
public sealed class BusSagaEventPublisher(ActorSystem system) : ISagaEventPublisher
{
    private readonly MessageBus _bus = MessageBus.Get(system);

    /// <summary>The topic of saga <paramref name="sagaName"/>'s lifecycle events.</summary>
    public static string TopicFor(string sagaName)
    {
        var segment = new string(sagaName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        return $"saga.{(segment.Length == 0 ? "-" : segment[..Math.Min(segment.Length, 190)])}";
    }

    /// <inheritdoc />
    public Task PublishAsync(SagaLifecycleEvent lifecycleEvent, CancellationToken cancellationToken)
    {
        var topic = TopicFor(lifecycleEvent.SagaName);
        if (!_bus.MayHaveSubscribers(topic)) return Task.CompletedTask; // nobody listens: skip serializing it
        _bus.Publish(topic, lifecycleEvent.Event, new EventBus.PublishOptions
        {
            CorrelationId = lifecycleEvent.SagaId,
            Headers = new Dictionary<string, string>
            {
                ["saga-id"] = lifecycleEvent.SagaId,
                ["saga-name"] = lifecycleEvent.SagaName,
                ["saga-state"] = lifecycleEvent.State.ToString(),
                ["saga-sequence-nr"] = lifecycleEvent.SequenceNr.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        });
        return Task.CompletedTask;
    }
}
