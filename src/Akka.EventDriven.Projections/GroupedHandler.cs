using Akka.Actor;
using Akka.Event;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Projections;

/// <summary>A grouped handler: gets events in groups bounded by size and time; the offset is stored after each group
/// (at-least-once per group).</summary>
public delegate Task GroupedHandler(IReadOnlyList<ProjectionEnvelope> group, CancellationToken cancellationToken);
