using System.Diagnostics;
using Akka.EventDriven.Diagnostics;

namespace Akka.EventDriven.Projections;

/// <summary>The module's <see cref="ActivitySource"/> (<see cref="EventDrivenTracing.Projections"/>): one consumer
/// activity per handler call, continuing the trace stored in the events' metadata.</summary>
internal static class ProjectionsTracing
{
    public static readonly ActivitySource Source = new(EventDrivenTracing.Projections);

    /// <summary>Most links one batch activity carries (one per distinct trace of its events).</summary>
    private const int MaxLinks = 64;

    /// <summary>An activity for a handler call on <paramref name="events"/>: the child of their trace when they all belong to
    /// one (always so for an at-least-once handler, which gets one event), else a new root linked to each of their traces
    /// (fan-in: a batch has no single parent).</summary>
    public static Activity? Start(ProjectionId id, IReadOnlyList<ProjectionEnvelope> events)
    {
        if (events.Count == 0) return null;
        var first = events[0].Metadata;
        var single = true;
        for (var i = 1; i < events.Count && single; i++) single = events[i].Metadata.TraceParent == first.TraceParent;
        Activity? activity;
        if (single)
            activity = EventDrivenTracing.StartFrom(Source, $"projection {id.Name}", ActivityKind.Consumer, first.TraceParent, first.TraceState);
        else
        {
            var links = new List<ActivityLink>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in events)
            {
                if (links.Count == MaxLinks) break;
                if (e.Metadata.TraceParent is { } parent && seen.Add(parent)
                    && EventDrivenTracing.LinkTo(parent, e.Metadata.TraceState) is { } link) links.Add(link);
            }
            // A root (not a child of whatever is current): the batch's own trace, linked to its events' traces.
            var previous = Activity.Current;
            Activity.Current = null;
            activity = EventDrivenTracing.StartFrom(Source, $"projection {id.Name}", ActivityKind.Consumer, null, null, links);
            if (activity is null) Activity.Current = previous;
        }
        if (activity is null) return null;
        activity.SetTag("event_driven.projection", id.ToString());
        activity.SetTag("event_driven.events", events.Count);
        if (events.Count == 1)
        {
            activity.SetTag("event_driven.event_type", events[0].TypeName);
            activity.SetTag("event_driven.persistence_id", events[0].PersistenceId);
            activity.SetTag("event_driven.offset", events[0].Offset);
        }
        return activity;
    }
}
