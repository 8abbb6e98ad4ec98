using System.Text.Json;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>A step's action completed; <paramref name="Data"/> is the saga's data after it.</summary>
/// <param name="StepId">The step.</param>
/// <param name="Attempt">The attempt that succeeded.</param>
/// <param name="Data">The data after the step.</param>
/// <param name="At">When.</param>
public sealed record SagaStepCompleted(string StepId, int Attempt, JsonElement Data, DateTimeOffset At) : ISagaEvent;
