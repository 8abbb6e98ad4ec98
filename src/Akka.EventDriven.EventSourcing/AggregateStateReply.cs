namespace Akka.EventDriven.EventSourcing;

/// <summary>The current, durably stored state of an aggregate.</summary>
/// <param name="AggregateId">The entity id.</param>
/// <param name="Version">Its version.</param>
/// <param name="State">Its state.</param>
/// <param name="Recovery">How the entity was recovered.</param>
public sealed record AggregateStateReply(string AggregateId, long Version, object State, RecoveryStats Recovery) : IEventDrivenMessage;
