using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>Every step completed.</summary>
/// <param name="At">When.</param>
public sealed record SagaCompleted(DateTimeOffset At) : ISagaEvent;
