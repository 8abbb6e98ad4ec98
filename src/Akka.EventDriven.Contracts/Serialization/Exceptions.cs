namespace Akka.EventDriven.Serialization;

/// <summary>A stored or received message names a type that is not registered: recovery of the aggregate fails.</summary>
public sealed class UnknownMessageTypeException(string typeName, string detail)
    : Exception($"Unknown message type '{typeName}': {detail}")
{
    /// <summary>The stored type name, e.g. <c>investigation.closed.v1</c>.</summary>
    public string TypeName { get; } = typeName;
}

/// <summary>A CLR type was about to be persisted or sent but has no stable name in the registry.</summary>
public sealed class UnregisteredMessageTypeException(Type type)
    : Exception($"Type '{type.FullName}' has no stable message type name. Register it with " +
                $"MessageTypeRegistry.Register<{type.Name}>(\"name\", version) or mark it [EventType(\"name\", version)].")
{
    /// <summary>The unregistered CLR type.</summary>
    public Type Type { get; } = type;
}
