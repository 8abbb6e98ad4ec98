namespace Akka.EventDriven.EventSourcing;

/// <summary>Asks an aggregate entity for its current state; answered with <see cref="AggregateStateReply"/>.</summary>
/// <param name="AggregateId">The entity id.</param>
public sealed record GetAggregateState(string AggregateId) : IEventDrivenMessage;
