namespace Akka.EventDriven;

/// <summary>The command was rejected; nothing was persisted.</summary>
/// <param name="AggregateId">The aggregate id.</param>
/// <param name="Version">The unchanged current version.</param>
/// <param name="Reason">Why it was rejected.</param>
public sealed record CommandRejected(string AggregateId, long Version, string Reason)
    : CommandResult(AggregateId, Version)
{
    /// <summary>True when the rejection is an optimistic-concurrency conflict (the expected version did not match).</summary>
    public bool IsConcurrencyConflict { get; init; }
}
