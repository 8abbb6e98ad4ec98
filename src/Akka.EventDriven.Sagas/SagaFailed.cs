using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>A compensation failed for good: the saga ends here; its history shows what was and was not undone.</summary>
/// <param name="Reason">Why.</param>
/// <param name="At">When.</param>
public sealed record SagaFailed(string Reason, DateTimeOffset At) : ISagaEvent;
