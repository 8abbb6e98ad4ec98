using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.EventDriven.EventSourcing;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace Akka.EventDriven.Sagas.Internal;

/// <summary>What every saga entity of a node shares.</summary>
internal sealed class SagaRuntime(SagaSettings settings, JsonSerializerOptions json, SagaIndex index)
{
    public SagaSettings Settings { get; } = settings;
    public JsonSerializerOptions Json { get; } = json;
    public SagaIndex Index { get; } = index;
    public ConcurrentDictionary<string, ISagaDefinition> Definitions { get; } = new(StringComparer.Ordinal);
    public volatile ISagaEventPublisher? Publisher;
}

/// <summary>
/// One saga instance: a sharded persistent actor (persistence id <c>saga:{id}</c>). It journals every state change
/// before the next effect: the start, each attempt's failure, each step's completion (with the data after it), the
/// switch to compensating, each compensation, and the end. On recovery a running saga continues by itself: a step
/// whose completion was not recorded runs again; a compensation whose completion was recorded never runs again.
/// </summary>
internal sealed class SagaEntity : UntypedPersistentActor, IWithTimers
{
    private const int MaxWaiters = 1000;

    /// <summary>Sharding's stop message (passivation and hand-off): waits for a running attempt's outcome to be recorded.</summary>
    internal sealed class Stop
    {
        public static readonly Stop Instance = new();
        private Stop() { }
    }

    private sealed record AttemptDone(int Token, JsonElement? Data, string? Error, bool TimedOut);
    private sealed record RetryDue(int Token);
    private sealed record DeadlineDue;
    private sealed record Continue;
    private sealed record AbandonedDone;

    /// <summary>An attempt whose outcome the saga stopped waiting for (timeout, deadline, hand-off) while its code runs on.</summary>
    private sealed record Abandoned(string StepId, bool Compensation, Task Work);

    private readonly string _sagaId;
    private readonly SagaRuntime _runtime;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    // Recovered state: the fold of the journal, and the decisions taken from it (pure; see SagaProgress).
    private SagaProgress _progress = SagaProgress.None;
    private ISagaDefinition? _definition;
    private string? SagaName => _progress.SagaName;
    private SagaState? CurrentState => _progress.State;

    // Live state.
    private int _token;
    private bool _inFlight;
    private bool _retryScheduled;
    private string? _runningStep;
    private CancellationTokenSource? _cts;
    private Task? _attemptWork;           // the running attempt's own code
    private readonly List<Abandoned> _abandoned = [];
    private bool _awaitingAbandoned;
    private bool _stopping;
    private readonly List<IActorRef> _waiters = [];
    private Task _publishing = Task.CompletedTask;
    private ImmutableHashSet<string>? _tags;
    private string? _traceParent;         // the trace of the saga's start: every step and compensation continues it
    private string? _traceState;

    public SagaEntity(string sagaId, SagaRuntime runtime)
    {
        _sagaId = sagaId;
        _runtime = runtime;
        PersistenceId = $"saga:{sagaId}";
    }

    public static Props Props(string sagaId, SagaRuntime runtime) => Actor.Props.Create(typeof(SagaEntity), sagaId, runtime);

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Sagas take no snapshots (their journals are short): recovery skips the snapshot store.</summary>
    public override Recovery Recovery => SnapshotlessRecovery;

    private static readonly Recovery SnapshotlessRecovery = new(SnapshotSelectionCriteria.None);

    private bool IsActive => _progress.IsActive;

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case DomainEvent { Payload: ISagaEvent e } stored:
                _traceParent ??= stored.Metadata.TraceParent;
                _traceState ??= stored.Metadata.TraceState;
                Apply(e);
                break;
            case RecoveryCompleted:
                AfterStateChange();
                if (IsActive) Self.Tell(new Continue());
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case StartSaga start:
                OnStart(start);
                break;
            case GetSagaStatus:
                Sender.Tell(new SagaStatusReply(_sagaId, Status()));
                break;
            case AwaitSaga:
                if (IsActive)
                {
                    // Pollers re-ask; asks that timed out are never answered: keep the newest ones only.
                    if (_waiters.Count >= MaxWaiters) _waiters.RemoveAt(0);
                    _waiters.Add(Sender);
                }
                else Sender.Tell(new SagaStatusReply(_sagaId, Status()));
                break;
            case ResumeSaga:
                Sender.Tell(new SagaStatusReply(_sagaId, Status()));
                if (IsActive) Advance();
                else if (CurrentState is not null) _runtime.Index.Remove(_sagaId); // finished: its index row must go
                break;
            case Continue:
                Advance();
                break;
            case AttemptDone done when done.Token == _token && _inFlight:
                OnAttemptDone(done);
                break;
            case AttemptDone:
                break; // a result that lost to the deadline
            case RetryDue due when due.Token == _token && _retryScheduled:
                _retryScheduled = false;
                Advance();
                break;
            case RetryDue:
                break;
            case DeadlineDue:
                OnDeadline();
                break;
            case AbandonedDone:
                _awaitingAbandoned = false;
                if (_stopping) StopWhenQuiet();
                else Advance();
                break;
            case Stop:
                // Passivation or hand-off (the node leaves, or shards rebalance): a running attempt is cancelled and
                // nothing is recorded for it; it runs again (same idempotency key) where the saga resumes, as after a
                // crash, but only once its code here stopped, so that the two never run side by side.
                _stopping = true;
                if (_inFlight) _cts?.Cancel();
                else StopWhenQuiet();
                break;
            case ReceiveTimeout:
                if (!IsActive) Context.Parent.Tell(new Passivate(Stop.Instance));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void OnStart(StartSaga start)
    {
        if (CurrentState is not null)
        {
            // The caller indexed the id before asking: a finished saga must not stay in the index of running ones.
            if (!IsActive) _runtime.Index.Remove(_sagaId);
            Sender.Tell(new SagaStartReply(_sagaId, false, start.SagaName == SagaName ? null
                : $"Saga id '{_sagaId}' is already used by a saga '{SagaName}'."));
            return;
        }
        if (!_runtime.Definitions.TryGetValue(start.SagaName, out var definition))
        {
            Sender.Tell(new SagaStartReply(_sagaId, false, $"No saga named '{start.SagaName}' is registered on the node hosting '{_sagaId}'."));
            return;
        }
        var sender = Sender;
        (_traceParent, _traceState) = (start.TraceParent, start.TraceState);
        var deadline = start.DeadlineAt ?? (definition.Deadline is { } d ? DateTimeOffset.UtcNow + d : null);
        Record([new SagaStarted(start.SagaName, start.Data, deadline, start.CorrelationId, DateTimeOffset.UtcNow)],
            () => sender.Tell(new SagaStartReply(_sagaId, true, null)));
    }

    /// <summary>Starts the next effect, unless one is running, due later, or the saga is finished.</summary>
    private void Advance()
    {
        if (!IsActive || _inFlight || _retryScheduled || _stopping) return;
        _definition ??= SagaName is not null && _runtime.Definitions.TryGetValue(SagaName, out var d) ? d : null;
        if (_definition is not { } definition)
        {
            // Not registered on the node hosting it: the saga cannot go on here. It is left running (another node of
            // the cluster, or this one after a redeploy, may have the definition) but says so loudly.
            _log.Error("Saga {0} ('{1}') cannot continue: no saga with this name is registered on this node.", _sagaId, SagaName);
            return;
        }
        try
        {
            AdvanceWith(definition);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or OverflowException)
        {
            // The definition does not match the journal (a step renamed or removed while sagas were running): end in
            // a clear Failed state instead of crashing, restarting and re-running effects.
            _log.Error(e, "Saga {0} ('{1}'): its definition does not match its journal", _sagaId, SagaName);
            Record([new SagaFailed($"Definition mismatch: {e.Message}", DateTimeOffset.UtcNow)]);
        }
    }

    private void AdvanceWith(ISagaDefinition definition)
    {
        switch (_progress.Next(definition, DateTimeOffset.UtcNow))
        {
            case SagaDecision.WaitUntil wait:
                _retryScheduled = true;
                Timers.StartSingleTimer("retry", new RetryDue(_token), Max(wait.Due - DateTimeOffset.UtcNow, TimeSpan.Zero));
                break;
            case SagaDecision.DeadlineReached:
                OnDeadline();
                break;
            case SagaDecision.Run run:
                Run(run.Index, run.Compensation);
                break;
            case SagaDecision.Finish finish:
                // "Compensated" promises that nothing of the saga still runs: an abandoned attempt must have stopped.
                if (!WaitForAbandoned(null, false, definition)) Record(finish.Events);
                break;
        }
    }

    /// <summary>True (and a wake-up is arranged) when an abandoned attempt still runs that the next effect, an attempt of
    /// <paramref name="stepId"/>'s action or compensation (null: the end of the saga), must not run beside: any, except
    /// an earlier attempt of the same step and kind when the step allows concurrent retries.</summary>
    private bool WaitForAbandoned(string? stepId, bool compensation, ISagaDefinition definition)
    {
        _abandoned.RemoveAll(a => a.Work.IsCompleted);
        var blocking = _abandoned.Where(a => !(a.StepId == stepId && a.Compensation == compensation
                                                 && definition.AllowsConcurrentRetry(IndexOf(definition, a.StepId)))).ToList();
        if (blocking.Count == 0) return false;
        if (!_awaitingAbandoned)
        {
            _awaitingAbandoned = true;
            _log.Info("Saga {0}: waiting for the abandoned attempt of step '{1}' to stop before going on", _sagaId, blocking[0].StepId);
            Task.WhenAll(blocking.Select(a => a.Work)).ContinueWith(_ => new AbandonedDone(), CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).PipeTo(Self);
        }
        return true;
    }

    /// <summary>Stops the entity once no attempt's code of this saga runs any more.</summary>
    private void StopWhenQuiet()
    {
        _abandoned.RemoveAll(a => a.Work.IsCompleted);
        if (_abandoned.Count == 0)
        {
            Context.Stop(Self);
            return;
        }
        if (_awaitingAbandoned) return;
        _awaitingAbandoned = true;
        Task.WhenAll(_abandoned.Select(a => a.Work)).ContinueWith(_ => new AbandonedDone(), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).PipeTo(Self);
    }

    private static int IndexOf(ISagaDefinition definition, string stepId) => SagaProgress.IndexOf(definition, stepId);

    private void Run(int index, bool compensation)
    {
        var definition = _definition!;
        if (WaitForAbandoned(definition.StepIds[index], compensation, definition)) return;
        var token = ++_token;
        var attempt = new SagaAttemptInfo(_sagaId, _progress.FailedAttempts + 1);
        var data = _progress.Data;
        var json = _runtime.Json;
        _inFlight = true;
        _runningStep = definition.StepIds[index];
        _cts = new CancellationTokenSource();
        var ct = _cts.Token;
        var self = Self;
        // The attempt's activity is current while Start hands the user's code to the thread pool, so that what the
        // step does (commands, publishes) joins the saga's trace; the actor's own thread is left without it.
        var previous = System.Diagnostics.Activity.Current;
        var activity = SagaTracing.Source.HasListeners() ? SagaTracing.StartStep(_sagaId, SagaName!, _runningStep, compensation,
            attempt.Attempt, _traceParent, _traceState) : null;
        // Start runs the user's code on the thread pool (never on this actor's thread) and enforces the timeout.
        SagaAttemptRun run;
        try
        {
            run = definition.Start(index, compensation, attempt, data, json, ct);
        }
        finally
        {
            if (activity is not null) System.Diagnostics.Activity.Current = previous;
        }
        _attemptWork = run.Work;
        _runningCompensation = compensation;
        AwaitAttemptAsync(run.Outcome, token, activity).PipeTo(self);
    }

    private bool _runningCompensation;

    /// <summary>Keeps the running attempt's code in view after the saga stopped waiting for its outcome.</summary>
    private void AbandonRunningAttempt()
    {
        if (_attemptWork is { IsCompleted: false } work && _runningStep is { } step) _abandoned.Add(new Abandoned(step, _runningCompensation, work));
        _attemptWork = null;
    }

    private static async Task<AttemptDone> AwaitAttemptAsync(Task<JsonElement> outcome, int token, System.Diagnostics.Activity? activity)
    {
        try
        {
            var after = await outcome.ConfigureAwait(false);
            return new AttemptDone(token, after, null, false);
        }
        catch (Exception e)
        {
            Akka.EventDriven.Diagnostics.EventDrivenTracing.Fail(activity, e);
            var error = e is SagaStepTimeoutException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            return new AttemptDone(token, null, error, e is SagaStepTimeoutException);
        }
        finally
        {
            activity?.Dispose();
        }
    }

    private void OnAttemptDone(AttemptDone done)
    {
        _inFlight = false;
        var step = _runningStep!;
        AbandonRunningAttempt();
        _runningStep = null;
        _cts?.Dispose();
        _cts = null;
        if (_stopping && done.Error is not null)
        {
            StopWhenQuiet(); // cancelled by the hand-off: not a failure of the step
            return;
        }
        Record(_progress.Outcome(_definition!, step, done.Data, done.Error, done.TimedOut, DateTimeOffset.UtcNow));
    }

    private void OnDeadline()
    {
        if (CurrentState != SagaState.Running) return;
        string? cutOff = null;
        if (_inFlight)
        {
            // The running attempt is cancelled and its outcome ignored; it counts as failed (timed out), and its code
            // is waited for before the next effect.
            _cts?.Cancel();
            _token++;
            _inFlight = false;
            cutOff = _runningStep;
            AbandonRunningAttempt();
            _runningStep = null;
        }
        _retryScheduled = false;
        Timers.Cancel("retry");
        Record(_progress.DeadlinePassed(_definition, cutOff, DateTimeOffset.UtcNow));
    }

    /// <summary>Journals <paramref name="events"/> as one atomic write, then applies and publishes them, then runs
    /// <paramref name="after"/> and goes on. Commands arriving meanwhile wait (PersistAll stashes them).</summary>
    private void Record(IReadOnlyList<ISagaEvent> events, Action? after = null)
    {
        var tags = _tags ??= ImmutableHashSet.Create("saga", $"saga:{SagaName ?? ((SagaStarted)events[0]).SagaName}");
        var metadata = new EventMetadata(DateTimeOffset.UtcNow, _sagaId) { TraceParent = _traceParent, TraceState = _traceState };
        var remaining = events.Count;
        PersistAll(events.Select(e => new Tagged(new DomainEvent(e, metadata), tags)), tagged =>
        {
            var e = (ISagaEvent)((DomainEvent)tagged.Payload).Payload;
            Apply(e);
            SagaMetrics.Recorded(SagaName, e);
            Publish(e);
            if (--remaining > 0) return;
            after?.Invoke();
            AfterStateChange();
            if (_stopping && !_inFlight) StopWhenQuiet();
            else Advance();
        });
    }

    private void Apply(ISagaEvent e)
    {
        _progress = _progress.Apply(e);
        if (e is SagaStarted started) _definition = _runtime.Definitions.GetValueOrDefault(started.SagaName);
    }

    /// <summary>Deadline timer while active; when finished: answer the waiters, leave the index, passivate when idle.</summary>
    private void AfterStateChange()
    {
        if (IsActive)
        {
            SetReceiveTimeout(null);
            if (_progress.DeadlineAt is { } deadline && CurrentState == SagaState.Running && !Timers.IsTimerActive("deadline"))
                Timers.StartSingleTimer("deadline", new DeadlineDue(), Max(deadline - DateTimeOffset.UtcNow, TimeSpan.Zero));
            return;
        }
        Timers.CancelAll();
        if (_waiters.Count > 0)
        {
            var status = new SagaStatusReply(_sagaId, Status());
            foreach (var waiter in _waiters) waiter.Tell(status);
            _waiters.Clear();
        }
        // Also on recovery: a removal lost in a crash is repeated when the sweep wakes the finished saga.
        if (CurrentState is not null) _runtime.Index.Remove(_sagaId);
        var linger = _runtime.Settings.PassivateAfterFinish;
        SetReceiveTimeout(linger > TimeSpan.Zero ? linger : TimeSpan.FromMilliseconds(1));
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private void Publish(ISagaEvent e)
    {
        if (_runtime.Publisher is not { } publisher) return;
        var lifecycle = new SagaLifecycleEvent(_sagaId, SagaName!, LastSequenceNr, CurrentState!.Value, e);
        // In order per saga, never blocking the saga; a failing publisher is logged.
        _publishing = _publishing.IsCompleted ? PublishAsync(publisher, lifecycle, _log)
            : _publishing.ContinueWith(_ => PublishAsync(publisher, lifecycle, _log), TaskScheduler.Default).Unwrap();
    }

    private static async Task PublishAsync(ISagaEventPublisher publisher, SagaLifecycleEvent lifecycle, ILoggingAdapter log)
    {
        try { await publisher.PublishAsync(lifecycle, CancellationToken.None).ConfigureAwait(false); }
        catch (Exception ex) { log.Warning(ex, "Publishing {0} of saga {1} failed", lifecycle.Event.GetType().Name, lifecycle.SagaId); }
    }

    private SagaStatus? Status() => _progress is not { State: { } state } p ? null : new SagaStatus(
        _sagaId, p.SagaName!, state, _runningStep ?? p.NextStep(_definition), p.Data, p.Reason, p.StartedAt, p.FinishedAt,
        p.Completed.ToArray(), p.Compensated.ToArray(), p.History.ToArray());

    protected override void PostStop()
    {
        _cts?.Cancel();
        foreach (var waiter in _waiters) waiter.Tell(new Akka.Actor.Status.Failure(new InvalidOperationException($"Saga {_sagaId}'s entity stopped (hand-off); ask again.")));
        base.PostStop();
    }
}
