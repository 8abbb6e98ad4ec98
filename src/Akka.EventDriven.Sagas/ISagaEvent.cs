using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>An event of a saga instance's journal (persistence id <c>saga:{sagaId}</c>, tagged <c>saga</c> and
/// <c>saga:{sagaName}</c>). Stored under stable names <c>saga.*.v1</c> (see <see cref="SagaTypes"/>).</summary>
public interface ISagaEvent
{
    /// <summary>When it happened.</summary>
    DateTimeOffset At { get; }
}
