using System.Diagnostics;
using Akka.Actor;
using Akka.Event;

namespace Akka.EventDriven.EventSourcing.Internal;

/// <summary>
/// The sharded entity of one aggregate id: a thin parent that owns the persistent <see cref="AggregatePersistentActor"/>.
/// It holds commands while the child recovers so that a recovery failure (an unknown event type, say) is answered
/// to every caller with the reason instead of a timeout, and it starts a fresh child after a storage failure.
/// </summary>
internal sealed class AggregateShardEntity : UntypedActor
{
    internal sealed record ChildReady;

    /// <summary>Recovery failed. <paramref name="Permanent"/> (an unknown event type, an unreadable payload): every
    /// command is answered with the reason until the entity passivates. Otherwise (database unreachable, timeout) the
    /// recovery is tried again after a short backoff while commands wait (nothing was stored for them, so waiting is
    /// safe); after <see cref="RecoveryBackoff"/> is spent they fail with the reason, and the next command tries a
    /// fresh recovery. <paramref name="StoreDown"/>: the store's circuit breaker refused the recovery (many calls in a
    /// row failed: the database is down), so waiting would only delay the answer: the commands fail at once, and the
    /// next command tries a fresh recovery.</summary>
    internal sealed record ChildRecoveryFailed(string Reason, bool Permanent, bool StoreDown = false);

    /// <summary>Time to start the next recovery attempt after a transient failure; <paramref name="Attempt"/> tells a
    /// current retry from one that was replaced (a command started a fresh recovery meanwhile, which failed too).</summary>
    internal sealed record RetryRecovery(int Attempt);

    /// <summary>Waits before each new recovery attempt after a transient failure: one blip (a connection that timed
    /// out under load, a restarting database) does not fail the commands; a database that stays away fails them within
    /// about 4 s plus the attempts themselves, well inside a command's timeout.</summary>
    internal static readonly TimeSpan[] RecoveryBackoff = [TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)];

    /// <summary>A message forwarded to the child, numbered so that the parent knows which ones were answered.</summary>
    internal sealed record Numbered(long N, object Message);

    /// <summary>From the child: every message numbered up to <paramref name="N"/> has been answered.</summary>
    internal sealed record Answered(long N);

    /// <summary>Sharding's stop message for idle passivation and hand-off: the entity stops once the commands it has
    /// already accepted are answered, never in the middle of a write.</summary>
    internal sealed class Stop
    {
        public static readonly Stop Instance = new();
        private Stop() { }
    }

    private readonly string _aggregateId;
    // The child's props come from the aggregate and its settings; a factory is given only by tests.
    private readonly IAggregate? _aggregate;
    private readonly AggregateSettings? _settings;
    private readonly Func<Props>? _childProps;
    private readonly int _maxPending;
    private readonly List<(object Message, IActorRef Sender, bool Resent)> _pending = [];
    // Forwarded to the current child and not yet known to be answered. If the child stops (Akka stops a persistent
    // actor right after a failed write, dropping its mailbox), the child never handled them (it reports every answer
    // before it stops, and that report is ahead of its Terminated in this mailbox): they go to the fresh child, once;
    // a message the fresh child also drops fails instead of looping.
    private readonly Queue<(long N, object Message, IActorRef Sender, bool Resent)> _unanswered = new();
    private long _lastNumber;
    private ILoggingAdapter? _log;
    // Created on first use: most aggregates never log, and an adapter per entity costs heap for every active id.
    private ILoggingAdapter Log => _log ??= Context.GetLogger();
    private IActorRef? _child;
    private bool _ready;
    private string? _failure;
    private bool _stopping;
    private int _recoveryFailures;
    // The waiting recovery retry, if any. Not IWithTimers: that gives every entity a timer scheduler and its dictionary
    // for a retry that almost never runs.
    private ICancelable? _retry;
    private int _retryAttempt;
    private long _childStarted;

    /// <summary>A recovery slower than this is logged (with how many commands waited for it).</summary>
    private static readonly TimeSpan SlowRecovery = TimeSpan.FromSeconds(2);

    public AggregateShardEntity(string aggregateId, Func<Props> childProps, int maxPending)
    {
        _aggregateId = aggregateId;
        _childProps = childProps;
        _maxPending = maxPending;
    }

    public AggregateShardEntity(string aggregateId, IAggregate aggregate, AggregateSettings settings)
    {
        _aggregateId = aggregateId;
        _aggregate = aggregate;
        _settings = settings;
        _maxPending = settings.MaxPendingCommands;
    }

    public static Props Props(string aggregateId, IAggregate aggregate, AggregateSettings settings) =>
        // An args array instead of an expression: no expression compilation for every entity started.
        new(CompactMailbox.Deploy, typeof(AggregateShardEntity), [aggregateId, aggregate, settings]);

    protected override void PreStart() => StartChild();

    private void StartChild()
    {
        _ready = false;
        _childStarted = Stopwatch.GetTimestamp();
        var props = _childProps?.Invoke() ?? AggregatePersistentActor.Props(_aggregateId, _aggregate!, _settings!);
        _child = Context.Watch(Context.ActorOf(props, "state"));
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ChildReady when Equals(Sender, _child):
                _ready = true;
                _recoveryFailures = 0;
                var took = Stopwatch.GetElapsedTime(_childStarted);
                if (took > SlowRecovery)
                    Log.Warning("Recovery of {0} took {1} ms; {2} command(s) waited for it", _aggregateId,
                        (int)took.TotalMilliseconds, _pending.Count);
                foreach (var (m, s, resent) in _pending) ForwardToChild(m, s, resent);
                _pending.Clear();
                _pending.Capacity = 0; // used again only while a new child recovers; no array kept for the entity's life
                if (_stopping) _child!.Tell(Stop.Instance);
                break;
            case Stop:
                _stopping = true;
                if (_child is null || _failure is not null) Context.Stop(Self);
                else if (_ready) _child.Tell(Stop.Instance);
                break;
            case ChildRecoveryFailed f when Equals(Sender, _child):
                if (f.Permanent) _failure = f.Reason;
                else if (_pending.Count > 0 && !_stopping && !f.StoreDown && _recoveryFailures < RecoveryBackoff.Length)
                {
                    var wait = RecoveryBackoff[_recoveryFailures++];
                    Log.Warning("{0}; {1} command(s) wait, recovery attempt {2} in {3} ms", f.Reason, _pending.Count,
                        _recoveryFailures + 1, (int)wait.TotalMilliseconds);
                    _retry?.Cancel(); // a newer failure replaces the waiting retry, as a keyed timer would
                    _retry = Context.System.Scheduler.ScheduleTellOnceCancelable(wait, Self, new RetryRecovery(++_retryAttempt), Self);
                    break;
                }
                _recoveryFailures = 0;
                foreach (var (_, s, _) in _pending) s.Tell(new CommandFailed(_aggregateId, f.Reason));
                _pending.Clear();
                break;
            case RetryRecovery r:
                if (_retry is null || r.Attempt != _retryAttempt) break; // replaced, or cancelled after it was sent
                _retry = null;
                // The failed child may not have stopped yet: then its Terminated starts the next one.
                if (_child is null && !_stopping && _failure is null && _pending.Count > 0) StartChild();
                else if (_child is null && _pending.Count == 0) _recoveryFailures = 0;
                break;
            case Answered a when Equals(Sender, _child):
                while (_unanswered.Count > 0 && _unanswered.Peek().N <= a.N) _unanswered.Dequeue();
                // At rest, give the array back: every active aggregate would keep one. An aggregate that gets one
                // command at a time allocates a small array per command for it; a busy one is rarely empty here.
                if (_unanswered.Count == 0) _unanswered.TrimExcess();
                break;
            case Terminated t when Equals(t.ActorRef, _child):
                _child = null;
                _ready = false;
                var resend = new List<(object, IActorRef, bool)>();
                while (_unanswered.TryDequeue(out var lost))
                {
                    if (!lost.Resent && !_stopping && _failure is null) resend.Add((lost.Message, lost.Sender, true));
                    else
                        lost.Sender.Tell(new CommandFailed(_aggregateId,
                            "The aggregate entity restarted (after a storage failure) before handling the command; nothing was stored for it."));
                }
                _pending.InsertRange(0, resend); // ahead of what arrived later: the order of the callers is kept
                if (_stopping) Context.Stop(Self);
                else if (_failure is null && _pending.Count > 0 && _retry is null) StartChild();
                break;
            case AggregateCommand or GetAggregateState:
                if (_failure is not null) Sender.Tell(new CommandFailed(_aggregateId, _failure));
                else if (_ready) ForwardToChild(message, Sender);
                else if (_pending.Count >= _maxPending)
                    Sender.Tell(new CommandFailed(_aggregateId,
                        $"The aggregate is recovering from storage and already holds {_pending.Count} commands " +
                        "(max-pending-commands); this one was not accepted. Retry later.") { Overloaded = true });
                else
                {
                    _pending.Add((message, Sender, false));
                    if (_child is null) StartChild();
                }
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void ForwardToChild(object message, IActorRef sender, bool resent = false)
    {
        var n = ++_lastNumber;
        _unanswered.Enqueue((n, message, sender, resent));
        _child!.Tell(new Numbered(n, message), sender);
    }

    protected override void PostStop()
    {
        _retry?.Cancel();
        foreach (var (_, s, _) in _pending) s.Tell(new CommandFailed(_aggregateId, "The aggregate entity stopped before handling the command."));
        foreach (var (_, _, s, _) in _unanswered) s.Tell(new CommandFailed(_aggregateId, "The aggregate entity stopped before handling the command."));
        _pending.Clear();
        _unanswered.Clear();
    }
}
