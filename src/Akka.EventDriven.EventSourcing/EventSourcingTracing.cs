using System.Diagnostics;
using Akka.EventDriven.Diagnostics;

namespace Akka.EventDriven.EventSourcing;

/// <summary>The module's <see cref="ActivitySource"/> (<c>Akka.EventDriven.EventSourcing</c>): one client activity per
/// command sent to an aggregate; its trace context is stored in the metadata of the events the command raises.</summary>
internal static class EventSourcingTracing
{
    /// <summary>The source; listen to it by name, <see cref="EventDrivenTracing.EventSourcing"/>.</summary>
    public static readonly ActivitySource Source = new(EventDrivenTracing.EventSourcing);
}
