using Akka.Actor;
using Akka.Event;

namespace Akka.EventDriven.Sagas.Internal;

/// <summary>
/// Runs on every node: reads the index of running sagas every <c>resume-interval</c> and wakes each one through
/// sharding. A running saga's entity continues by itself once it has recovered; a woken finished saga removes its
/// leftover index row; an id with no journal older than <c>resume-grace</c> is dropped.
/// </summary>
internal sealed class SagaResumer : ReceiveActor, IWithTimers
{
    private sealed record Sweep;
    private sealed record Swept(IReadOnlyList<(string Id, DateTimeOffset Since)> Rows);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, DateTimeOffset> _since = new(StringComparer.Ordinal);
    private bool _sweeping;

    public SagaResumer(IActorRef region, SagaRuntime runtime)
    {
        Receive<Sweep>(_ =>
        {
            if (_sweeping) return;
            _sweeping = true;
            runtime.Index.ReadAllAsync(CancellationToken.None).PipeTo(Self,
                success: rows => new Swept(rows),
                failure: e => new Status.Failure(e));
        });
        Receive<Swept>(swept =>
        {
            _sweeping = false;
            _since.Clear();
            foreach (var (id, since) in swept.Rows)
            {
                _since[id] = since;
                region.Tell(new ResumeSaga(id));
            }
            if (swept.Rows.Count > 0) _log.Debug("Woke {0} running saga(s)", swept.Rows.Count);
        });
        Receive<Status.Failure>(f =>
        {
            _sweeping = false;
            _log.Warning(f.Cause, "Reading the saga index failed; retrying at the next sweep");
        });
        Receive<SagaStatusReply>(reply =>
        {
            if (reply.Status is null && _since.TryGetValue(reply.SagaId, out var since)
                && DateTimeOffset.UtcNow - since > runtime.Settings.ResumeGrace)
                runtime.Index.Remove(reply.SagaId);
        });
        _runtime = runtime;
    }

    private readonly SagaRuntime _runtime;

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() =>
        Timers.StartPeriodicTimer("sweep", new Sweep(), _runtime.Settings.ResumeInitialDelay, _runtime.Settings.ResumeInterval);

    public static Props Props(IActorRef region, SagaRuntime runtime) => Actor.Props.Create(() => new SagaResumer(region, runtime));
}
