namespace Akka.EventDriven.Projections;

/// <summary>An event a projection could not deserialize (its type is unknown to this node, say). It reaches no handler:
/// the projection treats it as a failing event, so the recovery strategy decides (dead-letter it, or stop).</summary>
/// <param name="TypeName">The stored type name.</param>
/// <param name="Error">Why it could not be read.</param>
public sealed record UnreadableEvent(string TypeName, string Error);
