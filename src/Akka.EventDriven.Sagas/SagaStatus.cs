using System.Text.Json;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>The recorded state of a saga instance.</summary>
/// <param name="SagaId">The instance id.</param>
/// <param name="SagaName">The definition's name.</param>
/// <param name="State">Where it is.</param>
/// <param name="CurrentStep">The step running or being compensated; null when finished.</param>
/// <param name="Data">The data as of the last completed step, as JSON (<see cref="SagaOrchestrator.DataOf{TData}"/> reads it).</param>
/// <param name="Reason">Why it compensated or failed.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="FinishedAt">When it finished.</param>
/// <param name="CompletedSteps">Completed steps, in order.</param>
/// <param name="CompensatedSteps">Compensated steps, in the order they were compensated.</param>
/// <param name="History">Every recorded attempt, oldest first.</param>
public sealed record SagaStatus(
    string SagaId,
    string SagaName,
    SagaState State,
    string? CurrentStep,
    JsonElement Data,
    string? Reason,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<string> CompletedSteps,
    IReadOnlyList<string> CompensatedSteps,
    IReadOnlyList<SagaStepAttempt> History)
{
    /// <summary>True for Completed, Compensated and Failed.</summary>
    public bool IsFinished => State is SagaState.Completed or SagaState.Compensated or SagaState.Failed;
}
