namespace Akka.EventDriven.Sagas;

/// <summary>Identifies one attempt handed to <see cref="ISagaDefinition.RunAsync"/>.</summary>
/// <param name="SagaId">The saga instance id.</param>
/// <param name="Attempt">The attempt number, 1-based.</param>
public readonly record struct SagaAttemptInfo(string SagaId, int Attempt);
