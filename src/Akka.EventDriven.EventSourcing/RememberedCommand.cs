namespace Akka.EventDriven.EventSourcing;

/// <summary>A stored command an aggregate remembers across a snapshot: its id, the version after its events, how many
/// events it raised, and when it was stored (UTC ticks).</summary>
public sealed record RememberedCommand(string Id, long Version, int Events, long At);
