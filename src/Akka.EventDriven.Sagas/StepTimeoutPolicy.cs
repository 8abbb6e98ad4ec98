namespace Akka.EventDriven.Sagas;

/// <summary>What happens to a step whose attempt was cut off by its timeout or by the saga's deadline: the saga stops
/// waiting for the attempt, but the attempt may still have (or later get) its effect.</summary>
public enum StepTimeoutPolicy
{
    /// <summary>The default: when the saga compensates, the cut-off step is compensated too (first, as the latest
    /// step), after its abandoned attempt finished. Its compensation may thus run for an action that never took
    /// effect: compensations must be idempotent and tolerate "nothing to undo".</summary>
    Compensate,

    /// <summary>The cut-off step is not compensated: choose it when a timed-out attempt is known to have no effect
    /// (or its effect needs no undoing).</summary>
    Abandon,
}
