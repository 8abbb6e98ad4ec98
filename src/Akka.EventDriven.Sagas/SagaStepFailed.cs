using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>An attempt of a step's action failed (or timed out). <paramref name="RetryAt"/> null: the step failed for good.</summary>
/// <param name="StepId">The step.</param>
/// <param name="Attempt">The attempt that failed.</param>
/// <param name="Error">The error.</param>
/// <param name="TimedOut">True when the attempt exceeded the step's timeout (or the saga's deadline).</param>
/// <param name="RetryAt">When the next attempt is due; null when there is none.</param>
/// <param name="At">When.</param>
public sealed record SagaStepFailed(string StepId, int Attempt, string Error, bool TimedOut, DateTimeOffset? RetryAt, DateTimeOffset At) : ISagaEvent;
