using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>Every completed step with a compensation was compensated.</summary>
/// <param name="Reason">Why the saga was compensated.</param>
/// <param name="At">When.</param>
public sealed record SagaCompensated(string Reason, DateTimeOffset At) : ISagaEvent;
