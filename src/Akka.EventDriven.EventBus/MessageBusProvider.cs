using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.EventDriven.EventBus.Internal;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.EventBus;

/// <summary>Creates the <see cref="MessageBus"/> extension.</summary>
public sealed class MessageBusProvider : ExtensionIdProvider<MessageBus>
{
    /// <inheritdoc />
    public override MessageBus CreateExtension(ExtendedActorSystem system) => new(system);
}
