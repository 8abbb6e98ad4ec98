namespace Akka.EventDriven.Serialization;

/// <summary>
/// Gives a message type (event, command, state) its stable name and version, e.g.
/// <c>[EventType("investigation.started", 1)]</c> is stored as <c>investigation.started.v1</c>.
/// Picked up by <see cref="MessageTypeRegistry.RegisterAssembly"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class EventTypeAttribute(string name, int version = 1) : Attribute
{
    /// <summary>The stable name, without version.</summary>
    public string Name { get; } = name;

    /// <summary>The version (1 or more). Default: 1.</summary>
    public int Version { get; } = version;
}
