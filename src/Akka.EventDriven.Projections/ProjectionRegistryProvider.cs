using Akka.Actor;

namespace Akka.EventDriven.Projections;

/// <summary>Creates the <see cref="ProjectionRegistry"/> extension.</summary>
public sealed class ProjectionRegistryProvider : ExtensionIdProvider<ProjectionRegistry>
{
    /// <inheritdoc />
    public override ProjectionRegistry CreateExtension(ExtendedActorSystem system) => new();
}
