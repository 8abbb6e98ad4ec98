namespace Akka.EventDriven;

/// <summary>An aggregate's state at a version.</summary>
/// <param name="AggregateId">The aggregate id.</param>
/// <param name="Version">The version (0 when the aggregate has no events).</param>
/// <param name="State">The state.</param>
public sealed record AggregateState<TState>(string AggregateId, long Version, TState State)
{
    /// <summary>How the entity serving this state was recovered (null for state computed from the journal).</summary>
    public RecoveryStats? Recovery { get; init; }
}
