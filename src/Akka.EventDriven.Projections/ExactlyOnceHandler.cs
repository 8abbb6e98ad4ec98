using System.Data.Common;

namespace Akka.EventDriven.Projections;

/// <summary>
/// An exactly-once handler: it writes its read model through <paramref name="transaction"/> (on the event store's
/// database); the projection commits those writes and the new offset together, so after a crash at any point each
/// event's effect is there exactly once.
/// </summary>
public delegate Task ExactlyOnceHandler(IReadOnlyList<ProjectionEnvelope> batch, DbTransaction transaction,
    CancellationToken cancellationToken);
