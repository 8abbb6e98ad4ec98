namespace Akka.EventDriven;

/// <summary>The command was accepted and its events are durably stored.</summary>
/// <param name="AggregateId">The aggregate id.</param>
/// <param name="Version">The new version, including the events raised.</param>
/// <param name="Events">The events raised by the command (possibly none).</param>
public sealed record CommandAccepted(string AggregateId, long Version, IReadOnlyList<object> Events)
    : CommandResult(AggregateId, Version);
