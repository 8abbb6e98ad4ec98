using Akka.Actor;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.EventSourcing.Serialization;

/// <summary>Creates the <see cref="MessageTypes"/> extension.</summary>
public sealed class MessageTypesProvider : ExtensionIdProvider<MessageTypes>
{
    /// <inheritdoc />
    public override MessageTypes CreateExtension(ExtendedActorSystem system) => new(system);
}
