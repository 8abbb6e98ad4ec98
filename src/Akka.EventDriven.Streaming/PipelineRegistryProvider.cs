using Akka.Actor;

namespace Akka.EventDriven.Streaming;

/// <summary>Creates the <see cref="PipelineRegistry"/> extension.</summary>
public sealed class PipelineRegistryProvider : ExtensionIdProvider<PipelineRegistry>
{
    /// <inheritdoc />
    public override PipelineRegistry CreateExtension(ExtendedActorSystem system) => new(system);
}
