using Akka.Actor;
using Akka.Event;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Akka.Hosting;

namespace Akka.EventDriven.Projections;

/// <summary>Runs projections once per cluster (Akka.Hosting).</summary>
public static class ProjectionHostingExtensions
{
    /// <summary>
    /// Sets the module's read journal settings (<see cref="EventDrivenReadJournal"/>, which <c>EventSource.ByTag</c>
    /// reads through too) over the environment file and the module's defaults.
    /// <code>
    /// builder.WithProjections(p =&gt; p.RefreshInterval = TimeSpan.FromMilliseconds(100));
    /// </code>
    /// </summary>
    /// <exception cref="Akka.Configuration.ConfigurationException">A setting is invalid; the message names its key.</exception>
    public static AkkaConfigurationBuilder WithProjections(this AkkaConfigurationBuilder builder, Action<ProjectionsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new ProjectionsOptions();
        configure(options);
        var hocon = options.ToHocon();
        ProjectionsSettings.Create(Akka.Configuration.ConfigurationFactory.ParseString(hocon)); // fail here, naming the key
        builder.AddHocon(hocon, HoconAddMode.Prepend);
        builder.AddHocon(ProjectionsConfig.DefaultConfig(), HoconAddMode.Append);
        return builder;
    }

    /// <summary>
    /// Runs the projection that <paramref name="start"/> creates as a cluster singleton: on exactly one node (of
    /// <paramref name="role"/>, if given) at a time, moving to another node when that one leaves. During a hand-over
    /// the old instance is cancelled and stops first (an exactly-once step rolls back, a handler call in progress is
    /// awaited, up to half of the cluster-exiting phase's timeout: 5 s by default), and only then does the new one
    /// start, so the handler never runs on two nodes at once.
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
                ProjectionRunner.StopGracefully.Instance, settings), name);
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
                i => Props.Create(() => new ProjectionRunner(s => start(s, ids[i]))), settings,
                ProjectionRunner.StopGracefully.Instance);
        });
        return builder;
    }

    /// <summary>Owns one running projection for as long as this node holds the singleton (or the daemon instance).
    /// Asked to stop for a hand-over, it stops only after the projection has stopped (its step finished or rolled
    /// back), so the instance that takes over never runs beside it; an at-least-once handler is never called on two
    /// nodes at once. A projection that does not stop within half the cluster-exiting phase is abandoned with a warning.</summary>
    internal sealed class ProjectionRunner(Func<ActorSystem, Projection> start) : UntypedActor
    {
        /// <summary>The termination message the singleton manager and the sharded daemon send.</summary>
        internal sealed class StopGracefully
        {
            public static readonly StopGracefully Instance = new();
            private StopGracefully() { }
        }

        private sealed record Disposed(Exception? Error);

        private Projection? _projection;
        private bool _stopping;

        /// <summary>Longest wait for the projection's step to finish before the hand-over goes on regardless: half of
        /// coordinated shutdown's cluster-exiting phase (5 s by default), in which the singleton manager waits for
        /// the hand-over. Waiting longer would time that phase out and turn a graceful leave into a crash, which the
        /// split-brain resolver may then answer by downing the node that stays.</summary>
        private TimeSpan StopTimeout { get; } = ExitingTimeout(Context.System) / 2;

        private static TimeSpan ExitingTimeout(ActorSystem system)
        {
            var config = system.Settings.Config;
            const string path = "akka.coordinated-shutdown.phases.cluster-exiting.timeout";
            return config.HasPath(path) ? config.GetTimeSpan(path) : TimeSpan.FromSeconds(10);
        }

        protected override void PreStart() => _projection = start(Context.System);

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case StopGracefully when !_stopping:
                    _stopping = true;
                    if (_projection is not { } p)
                    {
                        Context.Stop(Self);
                        return;
                    }
                    _projection = null;
                    p.DisposeAsync().AsTask().WaitAsync(StopTimeout)
                        .ContinueWith(t => new Disposed(t.Exception?.GetBaseException()), TaskScheduler.Default)
                        .PipeTo(Self);
                    break;
                case StopGracefully:
                    break;
                case Disposed d:
                    if (d.Error is TimeoutException)
                        Context.GetLogger().Warning("Projection did not stop within {0}; handing over anyway", StopTimeout);
                    else if (d.Error is not null)
                        Context.GetLogger().Warning(d.Error, "Projection stopped with an error");
                    Context.Stop(Self);
                    break;
                default:
                    Unhandled(message);
                    break;
            }
        }

        protected override void PostStop()
        {
            // Stopped abruptly (the actor system is terminating): cancel without blocking the dispatcher.
            if (_projection is { } p) _ = p.DisposeAsync().AsTask();
        }
    }
}
