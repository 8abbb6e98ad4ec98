using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Akka.EventDriven.Projections;
using Akka.Hosting;

namespace Akka.EventDriven.Hosting;

/// <summary>Runs projections once per cluster (Akka.Hosting).</summary>
public static class ProjectionHosting
{
    /// <summary>
    /// Runs the projection that <paramref name="start"/> creates as a cluster singleton: on exactly one node (of
    /// <paramref name="role"/>, if given) at a time, moving to another node when that one leaves. During a hand-over
    /// the old instance is cancelled mid-step; on PostgreSQL the new one waits for the old transaction on the offset
    /// row, so no batch is applied twice.
    /// <code>
    /// builder.WithProjection(new ProjectionId("balances"), system =&gt; Projection.ExactlyOnce(system, id, handler));
    /// </code>
    /// </summary>
    public static AkkaConfigurationBuilder WithProjection(this AkkaConfigurationBuilder builder, ProjectionId id,
        Func<ActorSystem, Projection> start, string? role = null)
    {
        ArgumentNullException.ThrowIfNull(start);
        var name = $"projection-{Uri.EscapeDataString(id.Name)}-{Uri.EscapeDataString(id.Key)}".Replace('%', '_');
        builder.AddStartup((system, _) =>
        {
            var settings = ClusterSingletonManagerSettings.Create(system).WithSingletonName("runner");
            if (role is not null) settings = settings.WithRole(role);
            system.ActorOf(ClusterSingletonManager.Props(Props.Create(() => new ProjectionRunner(start)),
                PoisonPill.Instance, settings), name);
        });
        return builder;
    }

    /// <summary>
    /// Runs one projection per key of <paramref name="keys"/> (ids <c>name/key</c>), spread over the cluster's nodes
    /// (of <paramref name="role"/>) with Akka's sharded daemon process: each key runs on exactly one node at a time and
    /// moves when that node leaves; the cluster keeps every key alive. Use it to split a heavy projection, e.g. one key
    /// per tag or per slice of persistence ids.
    /// <code>
    /// builder.WithShardedProjection("balances", ["eu", "us"], (system, id) =&gt;
    ///     Projection.ExactlyOnce(system, id, handler, new ProjectionSettings(Tag: $"region-{id.Key}")));
    /// </code>
    /// </summary>
    public static AkkaConfigurationBuilder WithShardedProjection(this AkkaConfigurationBuilder builder, string name,
        IReadOnlyList<string> keys, Func<ActorSystem, ProjectionId, Projection> start, string? role = null)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0) throw new ArgumentException("A sharded projection needs at least one key.", nameof(keys));
        if (keys.Distinct(StringComparer.Ordinal).Count() != keys.Count) throw new ArgumentException("Projection keys must be distinct.", nameof(keys));
        var ids = keys.Select(k => new ProjectionId(name, k)).ToArray();
        var daemonName = $"projection-{Uri.EscapeDataString(name)}".Replace('%', '_');
        builder.AddStartup((system, _) =>
        {
            var settings = ShardedDaemonProcessSettings.Create(system);
            if (role is not null) settings = settings.WithRole(role);
            ShardedDaemonProcess.Get(system).Init(daemonName, ids.Length,
                i => Props.Create(() => new ProjectionRunner(s => start(s, ids[i]))), settings, PoisonPill.Instance);
        });
        return builder;
    }

    /// <summary>Owns one running projection for as long as this node holds the singleton (or the daemon instance).</summary>
    private sealed class ProjectionRunner(Func<ActorSystem, Projection> start) : UntypedActor
    {
        private Projection? _projection;

        protected override void PreStart() => _projection = start(Context.System);

        protected override void PostStop()
        {
            // Cancel without blocking the dispatcher; an abandoned step rolls back (exactly once) or repeats (at least once).
            if (_projection is { } p) _ = p.DisposeAsync().AsTask();
        }

        protected override void OnReceive(object message) => Unhandled(message);
    }
}
