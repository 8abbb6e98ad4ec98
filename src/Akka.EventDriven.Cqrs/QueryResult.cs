using Akka.Actor;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Projections;

namespace Akka.EventDriven.Cqrs;

/// <summary>What <see cref="QueryBus.QueryAsync"/> answered.</summary>
/// <param name="Result">The handler's result.</param>
/// <param name="Cached">True when it was served from the cache rather than computed for this call.</param>
public sealed record QueryResult(object? Result, bool Cached);
