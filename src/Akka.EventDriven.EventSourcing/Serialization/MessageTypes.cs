using Akka.Actor;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.EventSourcing.Serialization;

/// <summary>The actor system's <see cref="MessageTypeRegistry"/>: the one given by <see cref="MessageTypesSetup"/>,
/// or an empty one (every payload type then fails with a clear "not registered" error).</summary>
public sealed class MessageTypes : IExtension
{
    internal MessageTypes(ExtendedActorSystem system) =>
        Registry = system.Settings.Setup.Get<MessageTypesSetup>().Value?.Registry ?? new MessageTypeRegistry();

    /// <summary>The registry.</summary>
    public MessageTypeRegistry Registry { get; }

    /// <summary>The registry of <paramref name="system"/>.</summary>
    public static MessageTypeRegistry For(ActorSystem system) => system.WithExtension<MessageTypes, MessageTypesProvider>().Registry;
}
