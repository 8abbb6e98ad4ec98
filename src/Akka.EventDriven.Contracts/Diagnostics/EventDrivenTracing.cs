using System.Diagnostics;

namespace Akka.EventDriven.Diagnostics;

/// <summary>
/// Trace propagation shared by every module: each module has one <see cref="ActivitySource"/> (named in
/// <see cref="SourceNames"/>); the W3C trace context of the caller's current activity is captured as a
/// <c>traceparent</c> (+ <c>tracestate</c>) string, stored with events and bus envelopes, and continued later, on any
/// node, by starting a child activity from it. When nothing listens (no OpenTelemetry, no
/// <see cref="ActivityListener"/>) nothing is allocated and nothing is stored.
/// </summary>
public static class EventDrivenTracing
{
    /// <summary>The activity source of Akka.EventDriven.EventSourcing (aggregate commands).</summary>
    public const string EventSourcing = "Akka.EventDriven.EventSourcing";
    /// <summary>The activity source of Akka.EventDriven.Cqrs (command and query buses).</summary>
    public const string Cqrs = "Akka.EventDriven.Cqrs";
    /// <summary>The activity source of Akka.EventDriven.EventBus (publishes and deliveries).</summary>
    public const string EventBus = "Akka.EventDriven.EventBus";
    /// <summary>The activity source of Akka.EventDriven.Projections (one activity per handled event or batch).</summary>
    public const string Projections = "Akka.EventDriven.Projections";
    /// <summary>The activity source of Akka.EventDriven.Sagas (saga steps and compensations).</summary>
    public const string Sagas = "Akka.EventDriven.Sagas";
    /// <summary>The activity source of Akka.EventDriven.Kafka (records consumed with a <c>traceparent</c> header).</summary>
    public const string Kafka = "Akka.EventDriven.Kafka";

    /// <summary>Every module's source name, for <c>TracerProviderBuilder.AddSource(...)</c>. (HTTP requests are traced by
    /// ASP.NET Core's own activities; stream stages run on no caller's activity and have no source of their own.)</summary>
    public static IReadOnlyList<string> SourceNames { get; } = [EventSourcing, Cqrs, EventBus, Projections, Sagas, Kafka];

    /// <summary>Longest <c>tracestate</c> kept (the W3C limit is 32 list members of at most 256 characters each; 512
    /// characters is what the specification asks propagators to keep at least).</summary>
    public const int MaxTraceStateLength = 512;

    /// <summary>The W3C <c>traceparent</c> of <see cref="Activity.Current"/> (and its <c>tracestate</c>), or null when there
    /// is no current activity or it is not W3C: the fast path allocates nothing.</summary>
    public static string? CaptureCurrent(out string? traceState)
    {
        var current = Activity.Current;
        if (current is null || current.IdFormat != ActivityIdFormat.W3C)
        {
            traceState = null;
            return null;
        }
        traceState = current.TraceStateString is { Length: > 0 and <= MaxTraceStateLength } state ? state : null;
        return current.Id;
    }

    /// <summary>Starts an activity of <paramref name="source"/> whose parent is the stored trace context
    /// (<paramref name="traceParent"/>, <paramref name="traceState"/>); with no stored context it is a child of
    /// <see cref="Activity.Current"/> or a new root. Returns null (and allocates nothing) when nothing listens to the
    /// source or the listener does not sample it. A malformed stored value is ignored, never thrown.</summary>
    public static Activity? StartFrom(ActivitySource source, string name, ActivityKind kind, string? traceParent,
        string? traceState = null, IEnumerable<ActivityLink>? links = null)
    {
        if (!source.HasListeners()) return null;
        if (traceParent is not null && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var parent))
            return source.StartActivity(name, kind, parent, links: links);
        return source.StartActivity(name, kind, parentContext: default, links: links);
    }

    /// <summary>The trace context stored in <paramref name="traceParent"/> as a link (for fan-in, where one activity
    /// handles events of several traces), or null when it is absent or malformed.</summary>
    public static ActivityLink? LinkTo(string? traceParent, string? traceState = null) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var context)
            ? new ActivityLink(context)
            : null;

    /// <summary>Marks <paramref name="activity"/> failed with <paramref name="error"/> (the OpenTelemetry
    /// <c>exception</c> event and an error status). Does nothing when <paramref name="activity"/> is null.</summary>
    public static void Fail(Activity? activity, Exception error)
    {
        if (activity is null) return;
        activity.SetStatus(ActivityStatusCode.Error, error.Message);
        activity.AddException(error);
    }
}
