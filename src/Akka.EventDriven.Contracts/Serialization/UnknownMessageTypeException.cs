namespace Akka.EventDriven.Serialization;

/// <summary>A stored or received message names a type that is not registered: recovery of the aggregate fails.</summary>
public sealed class UnknownMessageTypeException(string typeName, string detail)
    : Exception($"Unknown message type '{typeName}': {detail}")
{
    /// <summary>The stored type name, e.g. <c>investigation.closed.v1</c>.</summary>
    public string TypeName { get; } = typeName;
}
