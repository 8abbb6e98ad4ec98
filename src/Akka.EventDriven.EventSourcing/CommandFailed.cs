namespace Akka.EventDriven.EventSourcing;

/// <summary>A command could not be processed because its events could not be stored; the entity restarts.</summary>
/// <param name="AggregateId">The entity id.</param>
/// <param name="Reason">The storage error.</param>
public sealed record CommandFailed(string AggregateId, string Reason) : IEventDrivenMessage
{
    /// <summary>Nothing was tried: the entity already holds <c>max-pending-commands</c> while it recovers. Safe to
    /// retry later (the repository throws <see cref="AggregateOverloadedException"/>).</summary>
    public bool Overloaded { get; init; }
}
