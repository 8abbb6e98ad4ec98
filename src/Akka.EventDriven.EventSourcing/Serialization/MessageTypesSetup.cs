using Akka.Actor.Setup;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.EventSourcing.Serialization;

/// <summary>Hands a <see cref="MessageTypeRegistry"/> to an actor system at start
/// (<c>ActorSystemSetup.Create(...).And(new MessageTypesSetup(registry))</c>; Akka.Hosting adds it for you).</summary>
/// <param name="registry">The registry of stable message type names.</param>
public sealed class MessageTypesSetup(MessageTypeRegistry registry) : Setup
{
    /// <summary>The registry.</summary>
    public MessageTypeRegistry Registry { get; } = registry;
}
