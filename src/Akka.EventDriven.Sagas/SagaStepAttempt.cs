using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>One attempt of a step's action or compensation.</summary>
/// <param name="StepId">The step.</param>
/// <param name="Compensation">True for the compensation.</param>
/// <param name="Attempt">The attempt number.</param>
/// <param name="Succeeded">Its outcome.</param>
/// <param name="Error">The error of a failed attempt.</param>
/// <param name="TimedOut">True when it exceeded its timeout.</param>
/// <param name="At">When its outcome was recorded.</param>
public sealed record SagaStepAttempt(string StepId, bool Compensation, int Attempt, bool Succeeded, string? Error, bool TimedOut, DateTimeOffset At);
