namespace Akka.EventDriven.Serialization;

/// <summary>A CLR type was about to be persisted or sent but has no stable name in the registry.</summary>
public sealed class UnregisteredMessageTypeException(Type type)
    : Exception($"Type '{type.FullName}' has no stable message type name. Register it with " +
                $"MessageTypeRegistry.Register<{type.Name}>(\"name\", version) or mark it [EventType(\"name\", version)].")
{
    /// <summary>The unregistered CLR type.</summary>
    public Type Type { get; } = type;
}
