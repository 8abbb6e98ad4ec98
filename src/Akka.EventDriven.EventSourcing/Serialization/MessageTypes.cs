using Akka.Actor;
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

/// <summary>Creates the <see cref="MessageTypes"/> extension.</summary>
public sealed class MessageTypesProvider : ExtensionIdProvider<MessageTypes>
{
    /// <inheritdoc />
    public override MessageTypes CreateExtension(ExtendedActorSystem system) => new(system);
}
