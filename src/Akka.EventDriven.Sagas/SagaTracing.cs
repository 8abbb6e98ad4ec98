using System.Diagnostics;
using Akka.EventDriven.Diagnostics;

namespace Akka.EventDriven.Sagas;

/// <summary>The module's <see cref="ActivitySource"/> (<see cref="EventDrivenTracing.Sagas"/>): a producer activity per saga
/// start, and one per attempt of a step or compensation, a child of the start's trace (stored with the saga's events, so
/// a saga resumed on another node after a crash continues the same trace).</summary>
internal static class SagaTracing
{
    public static readonly ActivitySource Source = new(EventDrivenTracing.Sagas);

    public static Activity? StartStep(string sagaId, string sagaName, string? stepId, bool compensation, int attempt,
        string? traceParent, string? traceState)
    {
        var previous = Activity.Current;
        Activity.Current = null; // the actor thread's stray activity is no parent of a saga's steps
        var activity = EventDrivenTracing.StartFrom(Source, $"saga {sagaName} {(compensation ? "compensate" : "step")} {stepId}",
            ActivityKind.Internal, traceParent, traceState);
        if (activity is null)
        {
            Activity.Current = previous;
            return null;
        }
        activity.SetTag("event_driven.saga", sagaName);
        activity.SetTag("event_driven.saga_id", sagaId);
        activity.SetTag("event_driven.saga_step", stepId);
        activity.SetTag("event_driven.compensation", compensation);
        activity.SetTag("event_driven.attempt", attempt);
        return activity;
    }
}
