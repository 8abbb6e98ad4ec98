using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>The saga stopped going forward and compensates its completed steps in reverse order.</summary>
/// <param name="Reason">Why (a step that failed for good, or the deadline).</param>
/// <param name="At">When.</param>
/// <param name="TimedOutStep">A step that did not complete but whose attempt was cut off by its timeout or the deadline
/// (so it may have had its effect) and whose policy is <see cref="StepTimeoutPolicy.Compensate"/>: it is compensated
/// too, first. Null: none (also in events stored before this field existed).</param>
public sealed record SagaCompensating(string Reason, DateTimeOffset At, string? TimedOutStep = null) : ISagaEvent;
