using System.Text.Json;

namespace Akka.EventDriven.Sagas;

/// <summary>A started attempt (see <see cref="ISagaDefinition.Start"/>).</summary>
/// <param name="Outcome">The data after the attempt; faults with <see cref="SagaStepTimeoutException"/> once the step's
/// timeout passed, or is cancelled with the token, whether or not the step's code has stopped.</param>
/// <param name="Work">The step's own code: completes when it really stopped (never faults).</param>
public readonly record struct SagaAttemptRun(Task<JsonElement> Outcome, Task Work);
