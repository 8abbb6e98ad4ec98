using Akka.Actor;

namespace Akka.EventDriven.Cqrs;

/// <summary>Creates <see cref="CqrsExtension"/>.</summary>
public sealed class CqrsExtensionProvider : ExtensionIdProvider<CqrsExtension>
{
    /// <inheritdoc />
    public override CqrsExtension CreateExtension(ExtendedActorSystem system) => new(system);
}
