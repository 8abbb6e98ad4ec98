using Akka.Actor;
using Akka.Event;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Projections;

/// <summary>An at-least-once handler: called once per event; the offset is stored after it, in batches, so after a
/// crash some events are handled again. Make it idempotent.</summary>
public delegate Task AtLeastOnceHandler(ProjectionEnvelope envelope, CancellationToken cancellationToken);
