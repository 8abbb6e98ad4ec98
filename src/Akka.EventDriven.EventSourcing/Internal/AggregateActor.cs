using System.Collections.Immutable;
using System.Diagnostics;
using Akka.Actor;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Serialization;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.EventSourcing.Internal;

/// <summary>
/// What every entity of one aggregate type shares: the aggregate, its settings, the journal and snapshot store, and
/// the props sharding starts each entity with (one instance for all of them: the entity takes its id from its name).
/// </summary>
internal sealed class AggregateType
{
    public AggregateType(ActorSystem system, IAggregate aggregate, AggregateSettings settings)
    {
        Aggregate = aggregate;
        Settings = settings;
        Registry = MessageTypes.For(system);
        BaseTags = ImmutableHashSet.Create(aggregate.Name);
        var persistence = Persistence.Persistence.Instance.Apply(system);
        Journal = persistence.JournalFor(null);
        SnapshotStore = persistence.SnapshotStoreFor(null);
        Props = new Props(CompactMailbox.Deploy, typeof(AggregateActor), [this]);
        // As Eventsourced: the journal's recovery-event-timeout (the plugin's own, else the fallback's; 30 s).
        var config = system.Settings.Config;
        var plugin = config.GetString("akka.persistence.journal.plugin", "");
        var timeout = plugin.Length > 0 ? config.GetTimeSpan($"{plugin}.recovery-event-timeout", null, false) : TimeSpan.Zero;
        if (timeout <= TimeSpan.Zero)
            timeout = config.GetTimeSpan("akka.persistence.journal-plugin-fallback.recovery-event-timeout", TimeSpan.FromSeconds(30), false);
        RecoveryTimeout = timeout > TimeSpan.Zero ? timeout : TimeSpan.FromSeconds(30);
        // A journal that shares the snapshot store's table reads both in one coalesced query (ReplayFromSnapshot).
        CombinedRecovery = Storage.ReplayFromSnapshot.IsAnswered(config);
    }

    /// <summary>True when the journal reads the snapshot with the events (one request, one query's share per load);
    /// otherwise the snapshot store is asked first and the journal after it.</summary>
    public bool CombinedRecovery { get; }

    /// <summary>A recovery that hears nothing from the snapshot store or the journal for this long has failed.</summary>
    public TimeSpan RecoveryTimeout { get; }

    public IAggregate Aggregate { get; }
    public AggregateSettings Settings { get; }
    public MessageTypeRegistry Registry { get; }
    public ImmutableHashSet<string> BaseTags { get; }
    public IActorRef Journal { get; }
    public IActorRef SnapshotStore { get; }
    public Props Props { get; }

    /// <summary>The writer id stored with every event written by this node's entities of this type. Akka.Persistence
    /// gives each actor incarnation one, for a replay filter that repairs interleaved writers; the journal's unique
    /// (persistence id, sequence number) key makes those impossible, so one per type and node is enough.</summary>
    public string WriterGuid { get; } = Guid.NewGuid().ToString();
}

/// <summary>
/// The sharded entity of one aggregate id: one actor that recovers its state from the journal (through Akka.Persistence's
/// journal and snapshot-store protocol, the coalesced reads of <c>BatchingJournal</c> and its snapshot loader) and
/// writes its events there. Commands are decided against the state that includes every earlier accepted command's
/// events; commands that arrive while a write is in flight are group-committed in the next single atomic write, and
/// each caller is answered only after that write is durable.
/// <para>It does what <c>Eventsourced</c> would not: a failed recovery or a failed write does not stop it. Commands that
/// arrive while it recovers wait (bounded by <c>max-pending-commands</c>); a recovery that fails for good (an unknown
/// event type, an unreadable payload) answers every command with the reason until the entity passivates; one that
/// fails for a transient reason is tried again after a short backoff while commands wait; a write that fails (it may or
/// may not have happened) fails its callers and the entity recovers again from storage before it decides anything
/// else, so no command is dropped with a stopped actor's mailbox.</para>
/// </summary>
internal sealed class AggregateActor : UntypedActor
{
    /// <summary>Sharding's stop message for idle passivation and hand-off: the entity stops once the commands it has
    /// already accepted are answered, never in the middle of a write.</summary>
    internal sealed class Stop
    {
        public static readonly Stop Instance = new();
        private Stop() { }
    }

    /// <summary>Waits before each new recovery attempt after a transient failure: one blip (a connection that timed
    /// out under load, a restarting database) does not fail the commands; a database that stays away fails them within
    /// about 4 s plus the attempts themselves, well inside a command's timeout.</summary>
    internal static readonly TimeSpan[] RecoveryBackoff = [TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)];

    /// <summary>A recovery slower than this is logged (with how many commands waited for it).</summary>
    private static readonly TimeSpan SlowRecovery = TimeSpan.FromSeconds(2);

    /// <summary>Failed retention deletes are retried this many times before a passivating entity stops anyway
    /// (the next snapshot, or the next incarnation's, asks again).</summary>
    private const int RetentionAttemptsBeforeStop = 8;

    /// <summary>The latest snapshot is not an aggregate's: reading it again cannot help (a failure for good).</summary>
    private sealed class ForeignSnapshotException(string message) : InvalidOperationException(message);

    private sealed record RetryRecovery(int Attempt);
    private sealed record RecoveryTick(int Attempt);
    private sealed record RetryRetention;
    private static readonly RetryRetention RetryRetentionNow = new();

    private enum Phase : byte
    {
        /// <summary>Waiting for the snapshot store's answer.</summary>
        LoadingSnapshot,
        /// <summary>Waiting for the journal's events and its highest sequence number.</summary>
        Replaying,
        /// <summary>An event could not be applied: the rest of that replay is let through (ignored) before the failure
        /// is acted on, so that none of it is taken for a later attempt's.</summary>
        Draining,
        /// <summary>Recovered: commands are decided.</summary>
        Ready,
        /// <summary>The last recovery failed; the next command (or the waiting retry) starts another.</summary>
        NotRecovered,
        /// <summary>The last recovery failed for good (<see cref="_failure"/>): commands are answered with the reason.</summary>
        Failed,
    }

    private readonly AggregateType _type;
    private readonly string _id;
    private readonly string _persistenceId;

    private Phase _phase;
    private object _state;
    private long _sequenceNr; // the highest sequence number stored (the version)
    private bool _stopRequested;
    private ILoggingAdapter? _log;
    // Created on first use: most aggregates never log, and an adapter per entity costs heap for every active id.
    private ILoggingAdapter Log => _log ??= Context.GetLogger();

    // Recovery: the messages that wait for it, when it started, and how it went.
    private List<(object Message, IActorRef Sender)>? _waiting;
    private long _recoveryStarted;
    private int _recoveryFailures;
    private string? _failure;
    // The waiting recovery retry, if any. Not IWithTimers: that gives every entity a timer scheduler and its dictionary
    // for a retry that almost never runs.
    private ICancelable? _retry;
    private int _retryAttempt;
    private long? _recoveredFromSnapshot;
    private long _eventsReplayed;
    // The recovery's timeout (see AggregateType.RecoveryTimeout), whether anything arrived since it last fired, and
    // while draining, why the recovery failed.
    private ICancelable? _recoveryTimer;
    private int _recoveryAttempt;
    private bool _recoveryProgress;
    private Exception? _drainFailure;

    // Writing: the commands waiting for the write in flight, and the write in flight (its callers with their replies,
    // the state after it, how many journal replies are still due, and whether the journal rejected it or failed).
    // A command's id is parsed into its CommandKey once, when it arrives (null: no id, or idempotency off).
    private List<(AggregateCommand Command, IActorRef Sender, CommandKey? Key)>? _buffer;
    private List<(IActorRef Sender, object Reply, CommandKey? Key)>? _inFlight;
    private object? _inFlightState;
    private long _inFlightLast;
    private int _inFlightReplies;
    private Exception? _inFlightRejected;
    private Exception? _inFlightFailed;

    // Snapshots and retention (see OnSnapshotSaved): what should be deleted, what the store confirmed, and whether a
    // request is out. Only one delete of each kind is in flight at a time; a newer target waits for it and a failure
    // is retried with backoff, so overlapping snapshots or a failed delete can never leave data behind that retention
    // promised to remove.
    private long _lastSnapshotSeq;
    private List<long>? _keptSnapshots;
    private long _eventsDeleteTarget;
    private long _eventsDeleted;
    private bool _eventsDeleteInFlight;
    private long _snapshotsDeleteTarget;
    private long _snapshotsDeleted;
    private bool _snapshotsDeleteInFlight;
    private int _retentionFailures;
    private ICancelable? _retentionRetry;

    // Idempotency (see CommandOptions.CommandId): the ids of the commands stored within the window with their results,
    // the ids being decided or written, repeats waiting for one of those, and while replaying the command whose events
    // are being read. All null on an aggregate with none.
    private CommandMemory? _stored;
    private HashSet<CommandKey>? _pendingIds;
    private List<(CommandKey Id, IActorRef Sender)>? _repeats;
    private string? _replayId;
    private int _replayEvents;
    private long _replaySeq;
    private long _replayAt;

    public AggregateActor(AggregateType type)
    {
        _type = type;
        // Sharding names an entity after its id, escaped (Uri.EscapeDataString); unescaping a name with no escapes
        // returns that same string, so the common id costs nothing here.
        _id = Uri.UnescapeDataString(Self.Path.Name);
        _persistenceId = PersistenceIds.For(type.Aggregate.Name, _id);
        _state = type.Aggregate.InitialState;
    }

    private AggregateSettings Settings => _type.Settings;

    protected override void PreStart() => StartRecovery();

    protected override void OnReceive(object message)
    {
        try
        {
            Dispatch(message);
        }
        catch (Exception e)
        {
            // A defect (the aggregate's own code is guarded where it is called). A restart would keep this actor's
            // reference, so journal replies meant for this incarnation would reach the next one: it stops instead,
            // its callers are answered (PostStop), and sharding starts a fresh entity (a new reference) for the next
            // command. So the entity is never restarted in place.
            Log.Error(e, "The entity of {0} failed and stops", _persistenceId);
            Context.Stop(Self);
        }
    }

    private void Dispatch(object message)
    {
        switch (message)
        {
            case AggregateCommand or GetAggregateState:
                if (_phase == Phase.Ready) Handle(message);
                else Wait(message);
                break;
            // Every reply is this incarnation's: the entity is never restarted in place (see OnReceive), and a write is
            // complete only once all of its replies arrived.
            case WriteMessageSuccess:
                WriteReplied();
                break;
            case WriteMessageRejected r:
                _inFlightRejected ??= r.Cause;
                WriteReplied();
                break;
            case WriteMessageFailure f:
                _inFlightFailed ??= f.Cause;
                WriteReplied();
                break;
            case WriteMessagesSuccessful or WriteMessagesFailed:
                break; // the per-event replies that follow carry the outcome
            case ReplayedMessage replayed:
                _recoveryProgress = true;
                if (_phase == Phase.Replaying) Replayed(replayed.Persistent);
                break;
            case RecoverySuccess success:
                if (_phase == Phase.Replaying) Recovered(success.HighestSequenceNr);
                else if (_phase == Phase.Draining) RecoveryFailed(_drainFailure!);
                break;
            case LoadSnapshotResult loaded:
                if (_phase == Phase.LoadingSnapshot) SnapshotLoaded(loaded);
                break;
            case ReplayMessagesFailure failure:
                if (_phase == Phase.Replaying) RecoveryFailed(failure.Cause);
                else if (_phase == Phase.Draining) RecoveryFailed(_drainFailure!);
                break;
            case RecoveryTick tick:
                if (tick.Attempt == _recoveryAttempt) RecoveryTicked(); // else an earlier attempt's, already in the mailbox
                break;
            case LoadSnapshotFailed failure:
                if (_phase == Phase.LoadingSnapshot) RecoveryFailed(failure.Cause);
                break;
            case RetryRecovery r:
                if (_retry is null || r.Attempt != _retryAttempt) break; // replaced, or cancelled after it was sent
                _retry = null;
                if (_phase == Phase.NotRecovered && !_stopRequested && _waiting is { Count: > 0 }) StartRecovery();
                else if (_waiting is not { Count: > 0 }) _recoveryFailures = 0;
                break;
            case Stop:
                _stopRequested = true;
                if (_phase is Phase.Failed or Phase.NotRecovered) Context.Stop(Self); // PostStop answers what waits
                else if (_phase == Phase.Ready) StopIfIdle();
                // else recovering: what waits is handled first, then the entity stops (Recovered)
                break;
            case SaveSnapshotSuccess saved:
                OnSnapshotSaved(saved.Metadata.SequenceNr);
                break;
            case SaveSnapshotFailure failed:
                // The next write that crosses a multiple of snapshot-every takes a new one; retention only counts
                // snapshots that were confirmed, so nothing is deleted on the strength of a failed save.
                Log.Warning(failed.Cause, "Snapshot of {0} at {1} failed", _persistenceId, failed.Metadata.SequenceNr);
                break;
            case DeleteSnapshotsSuccess ds:
                _snapshotsDeleteInFlight = false;
                _snapshotsDeleted = Math.Max(_snapshotsDeleted, ds.Criteria.MaxSequenceNr);
                _retentionFailures = 0;
                PumpRetention();
                break;
            case DeleteSnapshotsFailure df:
                _snapshotsDeleteInFlight = false;
                RetentionFailed(df.Cause, $"deleting its snapshots up to {df.Criteria.MaxSequenceNr}");
                break;
            case DeleteMessagesSuccess dm:
                _eventsDeleteInFlight = false;
                _eventsDeleted = Math.Max(_eventsDeleted, dm.ToSequenceNr);
                _retentionFailures = 0;
                PumpRetention();
                break;
            case DeleteMessagesFailure dm:
                _eventsDeleteInFlight = false;
                RetentionFailed(dm.Cause, $"deleting its events up to {dm.ToSequenceNr}");
                break;
            case RetryRetention:
                if (_retentionRetry is null) break; // cancelled after it was sent
                _retentionRetry = null;
                PumpRetention();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    // ---- recovery ----

    /// <summary>A command or state query that arrived before the entity is recovered: it waits for the recovery (one is
    /// started if none runs), or is answered with the reason the recovery failed for good.</summary>
    private void Wait(object message)
    {
        if (_phase == Phase.Failed)
        {
            Sender.Tell(new CommandFailed(_id, _failure!));
            return;
        }
        _waiting ??= [];
        if (_waiting.Count >= Settings.MaxPendingCommands)
        {
            Sender.Tell(new CommandFailed(_id,
                $"The aggregate is recovering from storage and already holds {_waiting.Count} commands " +
                "(max-pending-commands); this one was not accepted. Retry later.") { Overloaded = true });
            return;
        }
        _waiting.Add((message, Sender));
        if (_phase == Phase.NotRecovered && _retry is null) StartRecovery();
    }

    private void StartRecovery()
    {
        _phase = Phase.LoadingSnapshot;
        _recoveryStarted = Stopwatch.GetTimestamp();
        _state = _type.Aggregate.InitialState;
        _sequenceNr = 0;
        _recoveredFromSnapshot = null;
        _eventsReplayed = 0;
        _stored = null;
        _replayId = null;
        _lastSnapshotSeq = 0;
        _keptSnapshots = null;
        _recoveryProgress = false;
        _recoveryTimer?.Cancel();
        _recoveryTimer = Context.System.Scheduler.ScheduleTellRepeatedlyCancelable(_type.RecoveryTimeout, _type.RecoveryTimeout,
            Self, new RecoveryTick(++_recoveryAttempt), Self);
        if (_type.CombinedRecovery) _type.Journal.Tell(new Storage.ReplayFromSnapshot(_persistenceId, Self), Self);
        else _type.SnapshotStore.Tell(new LoadSnapshot(_persistenceId, SnapshotSelectionCriteria.Latest, long.MaxValue), Self);
    }

    private void SnapshotLoaded(LoadSnapshotResult loaded)
    {
        try
        {
            if (loaded.Snapshot is { Snapshot: AggregateSnapshot snapshot, Metadata: var metadata })
            {
                _state = snapshot.State;
                if (Settings.Idempotent && snapshot.Commands is { } carried)
                    foreach (var c in carried) Remember(CommandKey.Of(c.Id), FirstAnswer.Stored(c.Version, c.Events), c.At);
                _recoveredFromSnapshot = _lastSnapshotSeq = _sequenceNr = metadata.SequenceNr;
                _keptSnapshots = [.. snapshot.OlderSnapshots, metadata.SequenceNr];
            }
            else if (loaded.Snapshot is { } foreign)
                // Not written by an aggregate: its state cannot be known, and the events before it are not replayed
                // (the journal sends those after the snapshot only), so recovering without it would be silently wrong.
                throw new ForeignSnapshotException($"The latest snapshot of '{_persistenceId}' (sequence number " +
                    $"{foreign.Metadata.SequenceNr}) is a {foreign.Snapshot?.GetType().Name ?? "null"}, not an aggregate's snapshot.");
        }
        catch (Exception e)
        {
            if (!_type.CombinedRecovery)
            {
                RecoveryFailed(e);
                return;
            }
            // The journal goes on sending the events after the snapshot: they are let through before the failure is
            // acted on, so that a later attempt cannot take them for its own.
            _phase = Phase.Draining;
            _drainFailure = e;
            _recoveryProgress = true;
            return;
        }
        _phase = Phase.Replaying;
        _recoveryProgress = true;
        if (!_type.CombinedRecovery) // else the journal sends the events after the snapshot on its own
            _type.Journal.Tell(new ReplayMessages(_sequenceNr + 1, loaded.ToSequenceNr, long.MaxValue, _persistenceId, Self));
    }

    private void Replayed(IPersistentRepresentation p)
    {
        if (p.SequenceNr <= _sequenceNr) return;
        try
        {
            _sequenceNr = p.SequenceNr;
            if (p.Payload is not DomainEvent e) return; // not an aggregate's event: only its sequence number counts
            _state = _type.Aggregate.Apply(_state, e.Payload);
            _eventsReplayed++;
            if (Settings.Idempotent) ReplayedCommand(e, p.SequenceNr);
        }
        catch (Exception e)
        {
            // The journal goes on sending this replay's events: they are let through before the failure is acted on.
            _phase = Phase.Draining;
            _drainFailure = e;
        }
    }

    /// <summary>The recovery's timer: a recovery that heard nothing from the snapshot store or the journal for a whole
    /// interval has failed. Its answer may still come, and a later attempt could take it for its own, so the entity
    /// does not try again in place: it answers what waits and stops, and the next command starts a fresh one.</summary>
    private void RecoveryTicked()
    {
        if (_phase is not (Phase.LoadingSnapshot or Phase.Replaying or Phase.Draining))
        {
            StopRecoveryTimer();
            return;
        }
        if (_recoveryProgress)
        {
            _recoveryProgress = false;
            return;
        }
        var reason = $"Recovery of '{_persistenceId}' timed out: nothing came from the " +
                     $"{(_phase == Phase.LoadingSnapshot && !_type.CombinedRecovery ? "snapshot store" : "journal")} for {(int)_type.RecoveryTimeout.TotalSeconds} s.";
        Log.Error("{0} The entity stops; the next command starts a fresh one.", reason);
        StopRecoveryTimer();
        _phase = Phase.NotRecovered;
        FailWaiting(reason);
        Context.Stop(Self);
    }

    private void StopRecoveryTimer()
    {
        _recoveryTimer?.Cancel();
        _recoveryTimer = null;
    }

    private void Recovered(long highest)
    {
        StopRecoveryTimer();
        RememberReplayed();
        _sequenceNr = Math.Max(_sequenceNr, highest);
        _phase = Phase.Ready;
        _recoveryFailures = 0;
        var took = Stopwatch.GetElapsedTime(_recoveryStarted);
        if (took > SlowRecovery)
            Log.Warning("Recovery of {0} took {1} ms; {2} command(s) waited for it", _id,
                (int)took.TotalMilliseconds, _waiting?.Count ?? 0);
        if (_waiting is { } waiting)
        {
            _waiting = null; // used again only while a new recovery runs; no list kept for the entity's life
            for (var i = 0; i < waiting.Count; i++)
            {
                try
                {
                    Handle(waiting[i].Message, waiting[i].Sender);
                }
                catch
                {
                    _waiting = waiting.GetRange(i, waiting.Count - i); // answered when the entity stops
                    throw;
                }
            }
        }
        if (_stopRequested) StopIfIdle();
    }

    /// <summary>Recovery failed. Permanent (an unknown event type, an unreadable payload): every command is answered with
    /// the reason until the entity passivates. Otherwise (database unreachable, timeout) the recovery is tried again
    /// after a short backoff while commands wait (nothing was stored for them, so waiting is safe); after
    /// <see cref="RecoveryBackoff"/> is spent they fail with the reason, and the next command tries a fresh recovery. If
    /// the store's circuit breaker refused the recovery (many calls in a row failed: the database is down), waiting would
    /// only delay the answer: the commands fail at once, and the next command tries a fresh recovery.</summary>
    private void RecoveryFailed(Exception cause)
    {
        StopRecoveryTimer();
        _drainFailure = null;
        var reason = $"Recovery of '{_persistenceId}' failed: {cause.GetBaseException().Message}";
        var permanent = Causes(cause).Any(e => e is UnknownMessageTypeException or System.Text.Json.JsonException or ForeignSnapshotException);
        var storeDown = Causes(cause).Any(e => e is Akka.Pattern.OpenCircuitException);
        _state = _type.Aggregate.InitialState;
        _stored = null;
        if (permanent)
        {
            Log.Error(cause, "Recovery of {0} failed for good; its commands are answered with the reason until it passivates", _persistenceId);
            _phase = Phase.Failed;
            _failure = reason;
            FailWaiting(reason);
        }
        else
        {
            _phase = Phase.NotRecovered;
            if (_waiting is { Count: > 0 } waiting && !_stopRequested && !storeDown && _recoveryFailures < RecoveryBackoff.Length)
            {
                var wait = RecoveryBackoff[_recoveryFailures++];
                Log.Warning("{0}; {1} command(s) wait, recovery attempt {2} in {3} ms", reason, waiting.Count,
                    _recoveryFailures + 1, (int)wait.TotalMilliseconds);
                _retry?.Cancel(); // a newer failure replaces the waiting retry, as a keyed timer would
                _retry = Context.System.Scheduler.ScheduleTellOnceCancelable(wait, Self, new RetryRecovery(++_retryAttempt), Self);
                return;
            }
            Log.Warning("{0}{1}", reason, _waiting is { Count: > 0 } w ? $"; {w.Count} command(s) fail" : "");
            _recoveryFailures = 0;
            FailWaiting(reason);
        }
        if (_stopRequested) Context.Stop(Self);
    }

    private void FailWaiting(string reason)
    {
        if (_waiting is not null)
            foreach (var (_, sender) in _waiting) sender.Tell(new CommandFailed(_id, reason));
        _waiting = null;
        // Repeats of commands that were moved back to wait (after a failed write) wait for those: they fail with them.
        if (_repeats is not null)
        {
            foreach (var (id, sender) in _repeats)
                if (_pendingIds is null || !_pendingIds.Contains(id)) sender.Tell(new CommandFailed(_id, reason));
            _repeats.RemoveAll(r => _pendingIds is null || !_pendingIds.Contains(r.Id));
            if (_repeats.Count == 0) _repeats = null;
        }
    }

    private static IEnumerable<Exception> Causes(Exception e)
    {
        for (Exception? c = e; c is not null; c = c.InnerException)
        {
            yield return c;
            if (c is AggregateException agg)
                foreach (var inner in agg.InnerExceptions.SelectMany(Causes)) yield return inner;
        }
    }

    // ---- commands ----

    private void Handle(object message) => Handle(message, Sender);

    private void Handle(object message, IActorRef sender)
    {
        switch (message)
        {
            case AggregateCommand command:
                CommandKey? key = null;
                if (command.CommandId is { } commandId && Settings.Idempotent)
                {
                    key = CommandKey.Of(commandId);
                    if (IsRepeat(key.Value, sender)) break;
                    (_pendingIds ??= []).Add(key.Value);
                }
                (_buffer ??= []).Add((command, sender, key));
                if (_inFlight is null) Flush();
                break;
            case GetAggregateState:
                sender.Tell(new AggregateStateReply(_id, _sequenceNr, _state,
                    new RecoveryStats(_recoveredFromSnapshot, _eventsReplayed)));
                break;
        }
    }

    /// <summary>Decides buffered commands in arrival order and writes all their events as one atomic write.</summary>
    private void Flush()
    {
        var buffer = _buffer!;
        while (buffer.Count > 0)
        {
            var state = _state;
            var version = _sequenceNr;
            var count = Math.Min(buffer.Count, Settings.MaxCommandsPerWrite);
            var replies = new List<(IActorRef, object, CommandKey?)>(count);
            var writes = ImmutableArray.CreateBuilder<IPersistentRepresentation>();
            var now = DateTimeOffset.UtcNow;

            for (var i = 0; i < count; i++)
            {
                var (command, sender, key) = buffer[i];
                replies.Add((sender, Decide(command, ref state, ref version, writes, now), key));
            }
            buffer.RemoveRange(0, count);

            if (writes.Count == 0)
            {
                foreach (var (sender, reply, key) in replies) Answer(sender, reply, key, remember: true);
                continue;
            }

            _inFlight = replies;
            _inFlightState = state;
            _inFlightLast = version;
            _inFlightReplies = writes.Count;
            _inFlightRejected = null;
            _inFlightFailed = null;
            _type.Journal.Tell(new WriteMessages([new AtomicWrite(writes.ToImmutable())], Self, actorInstanceId: 0), Self);
            return;
        }
        _buffer = null; // nothing waits: the aggregate is at rest, and keeps no list
    }

    private object Decide(AggregateCommand command, ref object state, ref long version,
        ImmutableArray<IPersistentRepresentation>.Builder writes, DateTimeOffset now)
    {
        if (command.ExpectedVersion is { } expected && expected != version)
            return new CommandRejected(_id, version,
                $"Expected version {expected} but aggregate '{_persistenceId}' is at version {version}.") { IsConcurrencyConflict = true };

        var aggregate = _type.Aggregate;
        Decision decision;
        var next = state;
        var first = writes.Count;
        try
        {
            decision = aggregate.Decide(state, command.Command);
            if (decision.IsRejected) return new CommandRejected(_id, version, decision.RejectionReason!);
            var metadata = decision.Events.Count > 0
                ? new EventMetadata(now, command.CorrelationId, command.CausationId, command.Headers)
                {
                    TraceParent = command.TraceParent,
                    TraceState = command.TraceState,
                    CommandId = command.CommandId,
                }
                : null;
            var sequenceNr = version;
            foreach (var e in decision.Events)
            {
                if (!_type.Registry.IsRegistered(e.GetType()))
                    return Undo(new CommandFailed(_id, new UnregisteredMessageTypeException(e.GetType()).Message));
                next = aggregate.Apply(next, e);
                var extra = aggregate.Tags(e) ?? [];
                if (InvalidTag(extra) is { } bad)
                    return Undo(new CommandFailed(_id,
                        $"{aggregate.GetType().Name}.Tags returned an invalid tag for {e.GetType().Name}: {bad}; nothing was stored."));
                var tags = extra is ICollection<string> { Count: 0 } ? _type.BaseTags : _type.BaseTags.Union(extra);
                writes.Add(new Persistent(new Tagged(new DomainEvent(e, metadata!), tags), ++sequenceNr, _persistenceId,
                    sender: ActorRefs.NoSender, writerGuid: _type.WriterGuid));
            }
        }
        catch (Exception ex)
        {
            // A throwing handler is a bug, not a business rejection: the caller gets a failure, nothing is stored.
            Log.Error(ex, "Command {0} failed in aggregate {1}", command.Command.GetType().Name, _persistenceId);
            return Undo(new CommandFailed(_id,
                $"Command '{command.Command.GetType().Name}' threw {ex.GetType().Name}: {ex.Message}"));
        }

        state = next;
        version += decision.Events.Count;
        return new CommandAccepted(_id, version, decision.Events);

        // A command that fails halfway through its events stores none of them.
        object Undo(object reply)
        {
            while (writes.Count > first) writes.RemoveAt(writes.Count - 1);
            return reply;
        }
    }

    /// <summary>Longest tag accepted from <see cref="IAggregate.Tags"/>.</summary>
    private const int MaxTagLength = 255;

    /// <summary>Why a tag from the aggregate's Tags cannot be stored (checked here so that one bad tag fails its own
    /// command instead of the journal batch it would share with other aggregates' writes), or null.</summary>
    private static string? InvalidTag(IEnumerable<string> tags)
    {
        foreach (var tag in tags)
        {
            if (string.IsNullOrWhiteSpace(tag)) return "an empty tag";
            if (tag.Length > MaxTagLength) return $"a tag of {tag.Length} characters (at most {MaxTagLength})";
            if (tag.Any(char.IsControl)) return $"a tag with a control character ('{string.Concat(tag.Where(c => !char.IsControl(c)))}')";
        }
        return null;
    }

    /// <summary>One journal reply to the write in flight (one per event); the last one completes it.</summary>
    private void WriteReplied()
    {
        if (_inFlight is not { } replies || --_inFlightReplies > 0) return;
        _inFlight = null;
        var state = _inFlightState!;
        _inFlightState = null;
        if (_inFlightFailed is { } failed)
        {
            // The write may or may not have happened: fail its callers (not remembered: recovery knows), and recover
            // again from storage before deciding anything else; the journal reads after the write's outcome is known.
            var reason = $"Storing the events of '{_persistenceId}' failed: {failed.GetBaseException().Message}";
            Log.Error(failed, "{0}; the entity recovers from storage again", reason);
            foreach (var (sender, _, key) in replies) Answer(sender, new CommandFailed(_id, reason), key, remember: false);
            if (_buffer is { Count: > 0 } buffer)
            {
                // Decided again after the recovery (nothing waits for a recovery while the entity is ready).
                _waiting = [.. buffer.Select(b => ((object)b.Command, b.Sender))];
                foreach (var (_, _, key) in buffer)
                    if (key is { } k) _pendingIds?.Remove(k);
                if (_pendingIds is { Count: 0 }) _pendingIds = null;
            }
            _buffer = null;
            StartRecovery();
            return;
        }
        if (_inFlightRejected is { } rejected)
        {
            // Nothing was stored: the state and version stay as they were.
            var reason = $"The journal rejected the events of '{_persistenceId}': {rejected.GetBaseException().Message}";
            foreach (var (sender, _, key) in replies) Answer(sender, new CommandFailed(_id, reason), key, remember: true);
        }
        else
        {
            _state = state;
            _sequenceNr = _inFlightLast;
            foreach (var (sender, reply, key) in replies) Answer(sender, reply, key, remember: true);
            MaybeSnapshot();
        }
        if (_buffer is { Count: > 0 }) Flush();
        else _buffer = null;
        StopIfIdle();
    }

    private void StopIfIdle()
    {
        if (!_stopRequested || _inFlight is not null || _buffer is { Count: > 0 }) return;
        if (RetentionPending && _retentionFailures < RetentionAttemptsBeforeStop) return; // stops when it is done
        if (RetentionPending)
            Log.Warning("Retention of {0} is still incomplete after {1} failed attempts; the entity stops anyway and " +
                        "its next snapshot asks again", _persistenceId, _retentionFailures);
        Context.Stop(Self);
    }

    protected override void PostStop()
    {
        _retry?.Cancel();
        _recoveryTimer?.Cancel();
        _retentionRetry?.Cancel();
        FailWaiting("The aggregate entity stopped before handling the command.");
        foreach (var (_, sender, _) in _buffer ?? []) sender.Tell(new CommandFailed(_id, "The aggregate entity stopped before handling the command."));
        const string writing = "The aggregate entity stopped while the command's events were being stored; they may or may not have been.";
        foreach (var (sender, _, _) in _inFlight ?? []) sender.Tell(new CommandFailed(_id, writing));
        foreach (var (_, sender) in _repeats ?? []) sender.Tell(new CommandFailed(_id, writing));
        _buffer = null;
        _inFlight = null;
        _repeats = null;
    }

    // ---- idempotency ----

    /// <summary>A command id this aggregate has stored (answer with its first result) or is deciding or writing right now
    /// (answer when that one is answered): the command is not decided again.</summary>
    private bool IsRepeat(CommandKey key, IActorRef sender)
    {
        if (_stored is not null && _stored.TryGet(key, out var first))
        {
            if (first.Reply is { } reply) sender.Tell(reply);
            else AnswerStored(sender, first.Version, first.Events);
            EventSourcingMetrics.Repeated(_type.Aggregate.Name);
            return true;
        }
        if (_pendingIds is null || !_pendingIds.Contains(key)) return false;
        (_repeats ??= []).Add((key, sender));
        EventSourcingMetrics.Repeated(_type.Aggregate.Name);
        return true;
    }

    /// <summary>Answers a decided command and any repeat of it that waited, and remembers the answer (unless
    /// <paramref name="remember"/> is false: a write that failed may or may not have happened, and recovery knows).
    /// A repeat gets the first answer, whatever it was: a command id is decided once.</summary>
    private void Answer(IActorRef sender, object reply, CommandKey? commandKey, bool remember)
    {
        sender.Tell(reply);
        if (commandKey is not { } key || _pendingIds is null) return;
        _pendingIds.Remove(key);
        if (remember)
            Remember(key, reply is CommandAccepted { Events.Count: > 0 } accepted
                    ? FirstAnswer.Stored(accepted.Version, accepted.Events.Count)
                    : new FirstAnswer(0, 0, reply),
                DateTimeOffset.UtcNow.UtcTicks);
        if (_repeats is { Count: > 0 } repeats)
        {
            for (var i = repeats.Count - 1; i >= 0; i--)
                if (repeats[i].Id.Equals(key))
                {
                    repeats[i].Sender.Tell(reply);
                    repeats.RemoveAt(i);
                }
            if (repeats.Count == 0) _repeats = null;
        }
        if (_pendingIds.Count == 0) _pendingIds = null; // an idle aggregate keeps no set (memory per aggregate)
    }

    /// <summary>The first result of a stored command, rebuilt from its events as stored (read back, so that what is
    /// remembered per command is its id and version, not its events); the events are omitted if retention deleted them.</summary>
    private void AnswerStored(IActorRef sender, long version, int events)
    {
        var id = _id;
        PersistenceQuery.Get(Context.System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier)
            .CurrentEventsByPersistenceId(_persistenceId, version - events + 1, version)
            .RunWith(Sink.Seq<EventEnvelope>(), Context.System.Materializer())
            .ContinueWith(t => (object)new CommandAccepted(id, version, t.IsCompletedSuccessfully && t.Result.Count == events
                ? t.Result.Select(e => ((DomainEvent)e.Event).Payload).ToArray()
                : []), TaskScheduler.Default)
            .PipeTo(sender);
    }

    /// <summary>Remembers a command's answer, and lets go of those older than the window or beyond the bound.</summary>
    private void Remember(CommandKey key, FirstAnswer answer, long at)
    {
        var since = DateTimeOffset.UtcNow.UtcTicks - Settings.IdempotencyWindow.Ticks;
        if (at < since) return;
        (_stored ??= new CommandMemory()).Add(key, answer, at, since, Settings.MaxRememberedCommands);
    }

    /// <summary>Recovery: the events of one command are consecutive and carry its id; each command read is remembered
    /// with the result it had (its events and the version after them).</summary>
    private void ReplayedCommand(DomainEvent e, long sequenceNr)
    {
        // Only commands stored within the window matter: replaying an old aggregate remembers (and allocates) nothing.
        if (e.Metadata.CommandId is not { } commandId || e.Metadata.Timestamp.UtcTicks < DateTimeOffset.UtcNow.UtcTicks - Settings.IdempotencyWindow.Ticks)
        {
            RememberReplayed();
            return;
        }
        if (!string.Equals(commandId, _replayId, StringComparison.Ordinal))
        {
            RememberReplayed();
            _replayId = commandId;
            _replayEvents = 0;
        }
        _replayEvents++;
        _replaySeq = sequenceNr;
        _replayAt = e.Metadata.Timestamp.UtcTicks;
    }

    private void RememberReplayed()
    {
        if (_replayId is null) return;
        Remember(CommandKey.Of(_replayId), FirstAnswer.Stored(_replaySeq, _replayEvents), _replayAt);
        _replayId = null;
        _replayEvents = 0;
    }

    // ---- snapshots and retention ----

    private void MaybeSnapshot()
    {
        var every = Settings.SnapshotEvery;
        if (every <= 0 || _sequenceNr / every <= _lastSnapshotSeq / every) return;
        _lastSnapshotSeq = _sequenceNr;
        var kept = _keptSnapshots ?? [];
        var older = kept.Skip(Math.Max(0, kept.Count - (Settings.KeepSnapshots - 1))).ToArray();
        _type.SnapshotStore.Tell(new SaveSnapshot(new SnapshotMetadata(_persistenceId, _sequenceNr, DateTime.UtcNow),
            new AggregateSnapshot(_state, older) { Commands = SnapshotCommands() }), Self);
    }

    /// <summary>The newest stored commands within the window (at most <c>idempotency.snapshot-commands</c>), oldest
    /// first: an incarnation recovering from this snapshot replays no event before it, so it learns them from here.</summary>
    private IReadOnlyList<RememberedCommand>? SnapshotCommands()
    {
        if (_stored is not { Count: > 0 } stored || Settings.SnapshotCommands == 0) return null;
        var since = DateTimeOffset.UtcNow.UtcTicks - Settings.IdempotencyWindow.Ticks;
        var kept = new List<RememberedCommand>();
        foreach (var (id, at, answer) in stored.NewestFirst())
        {
            if (kept.Count >= Settings.SnapshotCommands || at < since) break;
            if (answer.Reply is null) kept.Add(new RememberedCommand(id.ToString(), answer.Version, answer.Events, at));
        }
        kept.Reverse();
        return kept.Count == 0 ? null : kept;
    }

    /// <summary>Retention: keep the newest N snapshots; optionally delete the events the oldest kept one covers.
    /// Only confirmed snapshots count, and the targets only grow, so a late or failed delete never loses ground.</summary>
    private void OnSnapshotSaved(long sequenceNr)
    {
        var kept = _keptSnapshots ??= [];
        kept.Add(sequenceNr);
        kept.Sort(); // a snapshot store may confirm saves out of order
        var keep = Settings.KeepSnapshots;
        if (kept.Count > keep)
        {
            _snapshotsDeleteTarget = Math.Max(_snapshotsDeleteTarget, kept[^(keep + 1)]);
            _keptSnapshots = kept = kept.GetRange(kept.Count - keep, keep);
        }
        if (Settings.DeleteEventsOnSnapshot && kept.Count == keep)
            _eventsDeleteTarget = Math.Max(_eventsDeleteTarget, kept[0]);
        PumpRetention();
    }

    /// <summary>Sends the delete requests that are due: at most one of each kind in flight, none while a retry waits.</summary>
    private void PumpRetention()
    {
        if (_retentionRetry is not null) return;
        if (!_snapshotsDeleteInFlight && _snapshotsDeleteTarget > _snapshotsDeleted)
        {
            _snapshotsDeleteInFlight = true;
            _type.SnapshotStore.Tell(new DeleteSnapshots(_persistenceId, new SnapshotSelectionCriteria(_snapshotsDeleteTarget)), Self);
        }
        if (!_eventsDeleteInFlight && _eventsDeleteTarget > _eventsDeleted)
        {
            _eventsDeleteInFlight = true;
            _type.Journal.Tell(new DeleteMessagesTo(_persistenceId, _eventsDeleteTarget, Self), Self);
        }
        if (!RetentionPending) StopIfIdle();
    }

    private bool RetentionPending =>
        _eventsDeleteInFlight || _snapshotsDeleteInFlight || _retentionRetry is not null
        || _eventsDeleteTarget > _eventsDeleted || _snapshotsDeleteTarget > _snapshotsDeleted;

    private void RetentionFailed(Exception cause, string what)
    {
        _retentionFailures++;
        // 200 ms, 400 ms, ... capped at 30 s: a store that is down is not hammered, one that is back is used soon.
        var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 200 * Math.Pow(2, Math.Min(_retentionFailures - 1, 10))));
        Log.Warning(cause, "Retention of {0}: {1} failed (attempt {2}); retrying in {3} ms", _persistenceId, what,
            _retentionFailures, (long)delay.TotalMilliseconds);
        _retentionRetry ??= Context.System.Scheduler.ScheduleTellOnceCancelable(delay, Self, RetryRetentionNow, Self);
        StopIfIdle();
    }
}
