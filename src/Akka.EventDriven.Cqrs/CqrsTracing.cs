using System.Diagnostics;
using Akka.EventDriven.Diagnostics;

namespace Akka.EventDriven.Cqrs;

/// <summary>The module's <see cref="ActivitySource"/> (<see cref="EventDrivenTracing.Cqrs"/>): one activity per command
/// executed on the <see cref="CommandBus"/>, the parent of the aggregate command and so of its events' trace.</summary>
internal static class CqrsTracing
{
    public static readonly ActivitySource Source = new(EventDrivenTracing.Cqrs);
}
