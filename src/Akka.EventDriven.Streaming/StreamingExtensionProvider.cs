using Akka.Actor;

namespace Akka.EventDriven.Streaming;

/// <summary>Creates <see cref="StreamingExtension"/>.</summary>
public sealed class StreamingExtensionProvider : ExtensionIdProvider<StreamingExtension>
{
    /// <inheritdoc />
    public override StreamingExtension CreateExtension(ExtendedActorSystem system) => new(system);
}
