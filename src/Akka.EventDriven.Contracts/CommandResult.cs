namespace Akka.EventDriven;

/// <summary>The typed outcome of a command sent to an aggregate.</summary>
/// <param name="AggregateId">The aggregate the command was sent to.</param>
/// <param name="Version">The aggregate's version (sequence number of its last event) after the command.</param>
public abstract record CommandResult(string AggregateId, long Version)
{
    /// <summary>True when the command was accepted.</summary>
    public bool IsAccepted => this is CommandAccepted;
}
