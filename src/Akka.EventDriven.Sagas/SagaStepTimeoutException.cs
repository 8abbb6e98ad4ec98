namespace Akka.EventDriven.Sagas;

/// <summary>Thrown by <see cref="ISagaDefinition.RunAsync"/> when an attempt exceeded the step's timeout.</summary>
public sealed class SagaStepTimeoutException(string message) : TimeoutException(message);
