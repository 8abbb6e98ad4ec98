using System.Collections.Concurrent;
using Akka.Actor;

namespace Akka.EventDriven.Projections;

/// <summary>The projections running on this node (every <see cref="Projection"/> registers itself when it starts
/// and leaves when it is disposed), so that operators' tools (the HTTP API, the console) can list, pause, resume and
/// rebuild them by id.</summary>
public sealed class ProjectionRegistry : IExtension
{
    private readonly ConcurrentDictionary<ProjectionId, Projection> _running = new();

    /// <summary>The registry of <paramref name="system"/>.</summary>
    public static ProjectionRegistry Get(ActorSystem system) => system.WithExtension<ProjectionRegistry, ProjectionRegistryProvider>();

    /// <summary>The projections running on this node, by id.</summary>
    public IReadOnlyCollection<Projection> Running => _running.Values.OrderBy(p => p.Id.ToString(), StringComparer.Ordinal).ToArray();

    /// <summary>The projection <paramref name="id"/> if it runs on this node.</summary>
    public Projection? Find(ProjectionId id) => _running.GetValueOrDefault(id);

    // A newer instance with the same id (a restart on this node) replaces the older one; the older one's disposal
    // then leaves the newer in place.
    internal void Add(Projection projection) => _running[projection.Id] = projection;

    internal void Remove(Projection projection) =>
        _running.TryRemove(new KeyValuePair<ProjectionId, Projection>(projection.Id, projection));
}

/// <summary>Creates the <see cref="ProjectionRegistry"/> extension.</summary>
public sealed class ProjectionRegistryProvider : ExtensionIdProvider<ProjectionRegistry>
{
    /// <inheritdoc />
    public override ProjectionRegistry CreateExtension(ExtendedActorSystem system) => new();
}
