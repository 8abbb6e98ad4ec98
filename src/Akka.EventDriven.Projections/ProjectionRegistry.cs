using System.Collections.Concurrent;
using Akka.Actor;

namespace Akka.EventDriven.Projections;

/// <summary>The projections running on this node (every <see cref="Projection"/> registers itself when it starts
/// and leaves when it is disposed), so that operators' tools (the HTTP API, the console) can list, pause, resume and
/// rebuild them by id.</summary>
public sealed class ProjectionRegistry : IExtension
{
    private readonly ConcurrentDictionary<ProjectionId, Projection> _running = new();

    // ---- lag gauges: what the last status read of each running projection said -------------------------------------
    // A gauge's callback must not block, and the lag is a database read: the callback answers the last values and,
    // when they are older than LagRefresh, starts one refresh in the background (so an idle node reads nothing).
    private static readonly ConcurrentDictionary<ProjectionRegistry, byte> Registries = new();
    private static readonly TimeSpan LagRefresh = TimeSpan.FromSeconds(2);
    private readonly ConcurrentDictionary<ProjectionId, ProjectionStatus> _lastStatus = new();
    private long _refreshedAt;
    private int _refreshing;

    static ProjectionRegistry()
    {
        Projection.Meter.CreateObservableGauge("akka.event_driven.projection.lag.events",
            () => Observe(s => (double)s.EventsBehind), "{event}", "Journal events a projection has not yet processed.");
        Projection.Meter.CreateObservableGauge("akka.event_driven.projection.lag.seconds",
            () => Observe(s => s.SecondsBehind), "s", "Age of the oldest event a projection has not yet processed.");
    }

    private static List<System.Diagnostics.Metrics.Measurement<double>> Observe(Func<ProjectionStatus, double> read)
    {
        var measurements = new List<System.Diagnostics.Metrics.Measurement<double>>();
        foreach (var registry in Registries.Keys)
        {
            registry.RefreshLagIfStale();
            foreach (var (id, status) in registry._lastStatus)
                if (registry._running.ContainsKey(id))
                    measurements.Add(new(read(status), new KeyValuePair<string, object?>("projection", id.ToString()),
                        new KeyValuePair<string, object?>("state", status.State.ToString())));
        }
        return measurements;
    }

    private void RefreshLagIfStale()
    {
        var now = Environment.TickCount64;
        if (now - Interlocked.Read(ref _refreshedAt) < LagRefresh.TotalMilliseconds) return;
        if (Interlocked.Exchange(ref _refreshing, 1) == 1) return;
        _ = Task.Run(async () =>
        {
            try
            {
                foreach (var p in _running.Values)
                {
                    using var timeout = new CancellationTokenSource(LagRefresh * 5);
                    try { _lastStatus[p.Id] = await p.GetStatusAsync(timeout.Token); }
                    catch (Exception) { /* database away or projection stopping: keep the last value, retry next time */ }
                }
                foreach (var id in _lastStatus.Keys)
                    if (!_running.ContainsKey(id)) _lastStatus.TryRemove(id, out _);
            }
            finally
            {
                Interlocked.Exchange(ref _refreshedAt, Environment.TickCount64);
                Interlocked.Exchange(ref _refreshing, 0);
            }
        });
    }

    /// <summary>The registry of <paramref name="system"/>.</summary>
    public static ProjectionRegistry Get(ActorSystem system) => system.WithExtension<ProjectionRegistry, ProjectionRegistryProvider>();

    /// <summary>The projections running on this node, by id.</summary>
    public IReadOnlyCollection<Projection> Running => _running.Values.OrderBy(p => p.Id.ToString(), StringComparer.Ordinal).ToArray();

    /// <summary>The projection <paramref name="id"/> if it runs on this node.</summary>
    public Projection? Find(ProjectionId id) => _running.GetValueOrDefault(id);

    // A newer instance with the same id (a restart on this node) replaces the older one; the older one's disposal
    // then leaves the newer in place.
    internal void Add(Projection projection)
    {
        lock (Registries)
        {
            _running[projection.Id] = projection;
            Registries.TryAdd(this, 0);
        }
    }

    internal void Remove(Projection projection)
    {
        lock (Registries)
        {
            _running.TryRemove(new KeyValuePair<ProjectionId, Projection>(projection.Id, projection));
            if (_running.IsEmpty) Registries.TryRemove(this, out _); // a stopped system's registry is not kept alive
        }
    }
}
