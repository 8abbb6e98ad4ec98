using System.Diagnostics;
using Akka.EventDriven.Diagnostics;
using Akka.EventDriven.EventBus.Internal;

namespace Akka.EventDriven.EventBus;

/// <summary>The module's <see cref="ActivitySource"/> (<see cref="EventDrivenTracing.EventBus"/>): a producer activity per
/// publish, enqueue and request, whose trace context travels in the envelope; a consumer activity per delivery (all
/// attempts of one delivery), a child of the publisher's, on whichever node the subscriber runs.</summary>
internal static class BusTracing
{
    public static readonly ActivitySource Source = new(EventDrivenTracing.EventBus);

    /// <summary>A producer activity for sending to <paramref name="destination"/>, or null when nothing listens.</summary>
    public static Activity? StartPublish(string operation, string destination)
    {
        if (!Source.HasListeners()) return null;
        var activity = EventDrivenTracing.StartFrom(Source, $"{operation} {destination}", ActivityKind.Producer, null);
        if (activity is null) return null;
        activity.SetTag("messaging.system", "akka.event_driven");
        activity.SetTag("messaging.operation.type", "send");
        activity.SetTag("messaging.destination.name", destination);
        return activity;
    }

    /// <summary>A consumer (or, for a request, server) activity continuing the trace stored in <paramref name="envelope"/>.</summary>
    public static Activity? StartDelivery(BusEnvelope envelope, string subscriber, ActivityKind kind = ActivityKind.Consumer)
    {
        if (!Source.HasListeners()) return null;
        // A message published without a trace starts its own (not the one that happens to be current here).
        var previous = Activity.Current;
        if (envelope.TraceParent is null) Activity.Current = null;
        var activity = EventDrivenTracing.StartFrom(Source, $"{(kind == ActivityKind.Server ? "handle" : "process")} {envelope.Topic}", kind,
            envelope.TraceParent, envelope.TraceState);
        if (activity is null)
        {
            Activity.Current = previous;
            return null;
        }
        activity.SetTag("messaging.system", "akka.event_driven");
        activity.SetTag("messaging.operation.type", "process");
        activity.SetTag("messaging.destination.name", envelope.Topic);
        activity.SetTag("messaging.message.id", envelope.Id);
        activity.SetTag("event_driven.message_type", envelope.Type);
        activity.SetTag("event_driven.subscriber", subscriber);
        return activity;
    }
}
