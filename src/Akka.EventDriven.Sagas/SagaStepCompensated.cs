using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>A completed step's compensation completed.</summary>
/// <param name="StepId">The step.</param>
/// <param name="Attempt">The attempt that succeeded.</param>
/// <param name="At">When.</param>
public sealed record SagaStepCompensated(string StepId, int Attempt, DateTimeOffset At) : ISagaEvent;
