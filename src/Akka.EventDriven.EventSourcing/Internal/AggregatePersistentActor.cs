using System.Collections.Immutable;
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
/// The persistent actor of one aggregate id. Commands are decided against the state that includes every earlier
/// accepted command's events; commands that arrive while a write is in flight are group-committed in the next
/// single atomic write, and each caller is answered only after that write is durable.
/// </summary>
internal sealed class AggregatePersistentActor : UntypedPersistentActor
{
    private sealed record BatchWritten;
    private static readonly BatchWritten Written = new();
    private sealed record RetryRetention;
    private static readonly RetryRetention RetryRetentionNow = new();

    /// <summary>Failed retention deletes are retried this many times before a passivating entity stops anyway
    /// (the next snapshot, or the next incarnation's, asks again).</summary>
    private const int RetentionAttemptsBeforeStop = 8;

    private readonly string _id;
    private readonly IAggregate _aggregate;
    private readonly AggregateSettings _settings;
    private readonly MessageTypeRegistry _registry;
    private readonly ImmutableHashSet<string> _baseTags;
    private readonly List<(AggregateCommand Command, IActorRef Sender, long N)> _buffer = [];

    private object _state;
    private List<(IActorRef Sender, object Reply, string? CommandId)>? _inFlight;
    private long _inFlightFirstN;
    private long _lastN;
    private long _reportedN;
    private object? _inFlightState;
    private bool _inFlightRejected;
    private long _lastSnapshotSeq;
    private List<long> _keptSnapshots = [];
    private long? _recoveredFromSnapshot;
    private long _eventsReplayed;
    private bool _stopRequested;

    // Retention (see OnSnapshotSaved): what should be deleted, what the store confirmed, and whether a request is out.
    // Only one delete of each kind is in flight at a time; a newer target waits for it and a failure is retried with
    // backoff, so overlapping snapshots or a failed delete can never leave data behind that retention promised to
    // remove.
    private long _eventsDeleteTarget;
    private long _eventsDeleted;
    private bool _eventsDeleteInFlight;
    private long _snapshotsDeleteTarget;
    private long _snapshotsDeleted;
    private bool _snapshotsDeleteInFlight;
    private int _retentionFailures;

    // Idempotency (see CommandOptions.CommandId): the ids of the commands stored within the window with their results
    // (and in the order stored, to let them go), the ids being decided or written, repeats waiting for one of those,
    // and while replaying the command whose events are being read. All null on an aggregate with none.
    // Ids are kept as CommandKeys (16 bytes for a GUID id) and answers as FirstAnswer structs: a hot aggregate keeps up
    // to max-remembered-commands of them.
    private Dictionary<CommandKey, FirstAnswer>? _storedIds;
    private Queue<(CommandKey Id, long At)>? _storedOrder;
    private HashSet<string>? _pendingIds;
    private List<(string Id, IActorRef Sender)>? _repeats;
    private string? _replayId;
    private int _replayEvents;
    private long _replaySeq;
    private long _replayAt;

    // The waiting retention retry, if any. Not IWithTimers: that gives every aggregate a timer scheduler and its
    // dictionary for a retry that almost never runs.
    private ICancelable? _retentionRetry;

    public AggregatePersistentActor(string id, IAggregate aggregate, AggregateSettings settings)
    {
        _id = id;
        _aggregate = aggregate;
        _settings = settings;
        _state = aggregate.InitialState;
        _registry = MessageTypes.For(Context.System);
        _baseTags = ImmutableHashSet.Create(aggregate.Name);
        PersistenceId = PersistenceIds.For(aggregate.Name, id);
    }

    public static Props Props(string id, IAggregate aggregate, AggregateSettings settings) =>
        new(CompactMailbox.Deploy, typeof(AggregatePersistentActor), [id, aggregate, settings]);

    public override string PersistenceId { get; }

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: AggregateSnapshot snapshot } offer:
                _state = snapshot.State;
                if (_settings.Idempotent && snapshot.Commands is { } carried)
                    foreach (var c in carried) Remember(c.Id, FirstAnswer.Stored(c.Version, c.Events), c.At);
                _recoveredFromSnapshot = _lastSnapshotSeq = offer.Metadata.SequenceNr;
                _keptSnapshots = [.. snapshot.OlderSnapshots, offer.Metadata.SequenceNr];
                break;
            case DomainEvent e:
                _state = _aggregate.Apply(_state, e.Payload);
                _eventsReplayed++;
                if (_settings.Idempotent) Replayed(e);
                break;
            case RecoveryCompleted:
                RememberReplayed();
                Context.Parent.Tell(new AggregateShardEntity.ChildReady());
                break;
        }
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        var text = $"Recovery of '{PersistenceId}' failed: {reason.GetBaseException().Message}";
        var permanent = Causes(reason).Any(e => e is UnknownMessageTypeException or System.Text.Json.JsonException);
        var storeDown = Causes(reason).Any(e => e is Akka.Pattern.OpenCircuitException);
        Context.Parent.Tell(new AggregateShardEntity.ChildRecoveryFailed(text, permanent, storeDown));
        base.OnRecoveryFailure(reason, message);
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

    protected override void OnCommand(object message)
    {
        if (message is AggregateShardEntity.Numbered numbered)
        {
            _lastN = numbered.N;
            Handle(numbered.Message);
            ReportAnswered();
            return;
        }
        Handle(message);
    }

    /// <summary>Tells the parent up to which number every command has been answered (see AggregateShardEntity).</summary>
    private void ReportAnswered()
    {
        var idle = _inFlight is null && _buffer.Count == 0;
        var answered = _inFlight is not null ? _inFlightFirstN - 1 : _buffer.Count > 0 ? _buffer[0].N - 1 : _lastN;
        // While busy, reported every 64 messages (not per command, which would cost a message on the hot path); after a
        // failure the parent may then also fail a few callers that were already answered, which their asks ignore. And
        // whenever the actor falls idle with answers unreported: the parent holds every message it forwarded (with its
        // sender, and so the caller's pending task) until reported, so an aggregate at rest would otherwise keep its
        // last commands alive until it passivates.
        if (answered <= _reportedN || (!idle && answered - _reportedN < 64)) return;
        _reportedN = answered;
        Context.Parent.Tell(new AggregateShardEntity.Answered(answered));
    }

    private void Handle(object message)
    {
        switch (message)
        {
            case AggregateCommand command:
                if (command.CommandId is { } commandId && _settings.Idempotent)
                {
                    if (IsRepeat(commandId)) break;
                    (_pendingIds ??= new HashSet<string>(StringComparer.Ordinal)).Add(commandId);
                }
                _buffer.Add((command, Sender, _lastN));
                if (_inFlight is null) Flush();
                break;
            case AggregateShardEntity.Stop:
                _stopRequested = true;
                StopIfIdle();
                break;
            case GetAggregateState:
                Sender.Tell(new AggregateStateReply(_id, LastSequenceNr, _state,
                    new RecoveryStats(_recoveredFromSnapshot, _eventsReplayed)));
                break;
            case SaveSnapshotSuccess saved:
                OnSnapshotSaved(saved.Metadata.SequenceNr);
                break;
            case SaveSnapshotFailure failed:
                // The next write that crosses a multiple of snapshot-every takes a new one; retention only counts
                // snapshots that were confirmed, so nothing is deleted on the strength of a failed save.
                Log.Warning(failed.Cause, "Snapshot of {0} at {1} failed", PersistenceId, failed.Metadata.SequenceNr);
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

    /// <summary>Decides buffered commands in arrival order and writes all their events as one atomic write.</summary>
    private void Flush()
    {
        while (_buffer.Count > 0)
        {
            var state = _state;
            var version = LastSequenceNr;
            var count = Math.Min(_buffer.Count, _settings.MaxCommandsPerWrite);
            var replies = new List<(IActorRef, object, string?)>(count);
            var writes = new List<object>();
            var now = DateTimeOffset.UtcNow;

            var firstN = _buffer[0].N;
            for (var i = 0; i < count; i++)
            {
                var (command, sender, _) = _buffer[i];
                replies.Add((sender, Decide(command, ref state, ref version, writes, now), command.CommandId));
            }
            _buffer.RemoveRange(0, count);

            if (writes.Count == 0)
            {
                foreach (var (sender, reply, commandId) in replies) Answer(sender, reply, commandId, remember: true);
                continue;
            }

            _inFlight = replies;
            _inFlightFirstN = firstN;
            _inFlightState = state;
            _inFlightRejected = false;
            PersistAllAsync(writes, static _ => { });
            DeferAsync(Written, _ => OnBatchWritten());
            return;
        }
    }

    private object Decide(AggregateCommand command, ref object state, ref long version, List<object> writes, DateTimeOffset now)
    {
        if (command.ExpectedVersion is { } expected && expected != version)
            return new CommandRejected(_id, version,
                $"Expected version {expected} but aggregate '{PersistenceId}' is at version {version}.") { IsConcurrencyConflict = true };

        Decision decision;
        var next = state;
        var tagged = new List<object>();
        try
        {
            decision = _aggregate.Decide(state, command.Command);
            if (decision.IsRejected) return new CommandRejected(_id, version, decision.RejectionReason!);
            var metadata = decision.Events.Count > 0
                ? new EventMetadata(now, command.CorrelationId, command.CausationId, command.Headers)
                {
                    TraceParent = command.TraceParent,
                    TraceState = command.TraceState,
                    CommandId = command.CommandId,
                }
                : null;
            foreach (var e in decision.Events)
            {
                if (!_registry.IsRegistered(e.GetType()))
                    return new CommandFailed(_id, new UnregisteredMessageTypeException(e.GetType()).Message);
                next = _aggregate.Apply(next, e);
                var extra = _aggregate.Tags(e) ?? [];
                if (InvalidTag(extra) is { } bad)
                    return new CommandFailed(_id,
                        $"{_aggregate.GetType().Name}.Tags returned an invalid tag for {e.GetType().Name}: {bad}; nothing was stored.");
                var tags = extra is ICollection<string> { Count: 0 } ? _baseTags : _baseTags.Union(extra);
                tagged.Add(new Tagged(new DomainEvent(e, metadata!), tags));
            }
        }
        catch (Exception ex)
        {
            // A throwing handler is a bug, not a business rejection: the caller gets a failure, nothing is stored.
            Log.Error(ex, "Command {0} failed in aggregate {1}", command.Command.GetType().Name, PersistenceId);
            return new CommandFailed(_id,
                $"Command '{command.Command.GetType().Name}' threw {ex.GetType().Name}: {ex.Message}");
        }

        writes.AddRange(tagged);
        state = next;
        version += decision.Events.Count;
        return new CommandAccepted(_id, version, decision.Events);
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

    private void OnBatchWritten()
    {
        if (_inFlight is not { } replies) return; // the write failed and was answered in OnPersistFailure
        _inFlight = null;
        if (!_inFlightRejected)
        {
            _state = _inFlightState!;
            foreach (var (sender, reply, commandId) in replies) Answer(sender, reply, commandId, remember: true);
            MaybeSnapshot();
        }
        _inFlightState = null;
        if (_buffer.Count > 0) Flush();
        else _buffer.Capacity = 0; // nothing arrived during the write: the aggregate is at rest, and keeps no array
        ReportAnswered();
        StopIfIdle();
    }

    private void StopIfIdle()
    {
        if (!_stopRequested || _inFlight is not null || _buffer.Count > 0) return;
        // Everything is answered (a repeat's read-back may still be on its way): the parent must not fail them.
        if (_lastN > _reportedN) Context.Parent.Tell(new AggregateShardEntity.Answered(_reportedN = _lastN));
        if (RetentionPending && _retentionFailures < RetentionAttemptsBeforeStop) return; // stops when it is done
        if (RetentionPending)
            Log.Warning("Retention of {0} is still incomplete after {1} failed attempts; the entity stops anyway and " +
                         "its next snapshot asks again", PersistenceId, _retentionFailures);
        Context.Stop(Self);
    }

    protected override void PostStop()
    {
        _retentionRetry?.Cancel();
        base.PostStop();
    }

    private bool RetentionPending =>
        _eventsDeleteInFlight || _snapshotsDeleteInFlight || _retentionRetry is not null
        || _eventsDeleteTarget > _eventsDeleted || _snapshotsDeleteTarget > _snapshotsDeleted;

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // Called once per event of the rejected atomic write: answer the callers once; state stays as it was.
        if (_inFlight is null || _inFlightRejected) return;
        _inFlightRejected = true;
        var reason = $"The journal rejected the events of '{PersistenceId}': {cause.GetBaseException().Message}";
        foreach (var (sender, _, commandId) in _inFlight) Answer(sender, new CommandFailed(_id, reason), commandId, remember: true);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // The write may or may not have happened: fail every caller waiting here; Akka then stops this actor, and the
        // parent fails whatever was still in its mailbox (AggregateShardEntity) and recovers a fresh one from storage.
        var reason = $"Storing the events of '{PersistenceId}' failed: {cause.GetBaseException().Message}";
        foreach (var (sender, _, commandId) in _inFlight ?? []) Answer(sender, new CommandFailed(_id, reason), commandId, remember: false);
        foreach (var (command, sender, _) in _buffer) Answer(sender, new CommandFailed(_id, reason), command.CommandId, remember: false);
        _inFlight = null;
        _buffer.Clear();
        if (_lastN > _reportedN) Context.Parent.Tell(new AggregateShardEntity.Answered(_reportedN = _lastN));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>A command id this aggregate has stored (answer with its first result) or is deciding or writing right now
    /// (answer when that one is answered): the command is not decided again.</summary>
    private bool IsRepeat(string commandId)
    {
        if (_storedIds is not null && _storedIds.TryGetValue(CommandKey.Of(commandId), out var first))
        {
            if (first.Reply is { } reply) Sender.Tell(reply);
            else AnswerStored(Sender, first.Version, first.Events);
            EventSourcingMetrics.Repeated(_aggregate.Name);
            return true;
        }
        if (_pendingIds is null || !_pendingIds.Contains(commandId)) return false;
        (_repeats ??= []).Add((commandId, Sender));
        EventSourcingMetrics.Repeated(_aggregate.Name);
        return true;
    }

    /// <summary>Answers a decided command and any repeat of it that waited, and remembers the answer (unless
    /// <paramref name="remember"/> is false: a write that failed may or may not have happened, and recovery knows).
    /// A repeat gets the first answer, whatever it was: a command id is decided once.</summary>
    private void Answer(IActorRef sender, object reply, string? commandId, bool remember)
    {
        sender.Tell(reply);
        if (commandId is null || _pendingIds is null) return;
        _pendingIds.Remove(commandId);
        if (remember)
            Remember(commandId, reply is CommandAccepted { Events.Count: > 0 } accepted
                    ? FirstAnswer.Stored(accepted.Version, accepted.Events.Count)
                    : new FirstAnswer(0, 0, reply),
                DateTimeOffset.UtcNow.UtcTicks);
        if (_repeats is { Count: > 0 } repeats)
            for (var i = repeats.Count - 1; i >= 0; i--)
                if (string.Equals(repeats[i].Id, commandId, StringComparison.Ordinal))
                {
                    repeats[i].Sender.Tell(reply);
                    repeats.RemoveAt(i);
                }
        if (_pendingIds.Count == 0) _pendingIds = null; // an idle aggregate keeps no set (memory per aggregate)
    }

    /// <summary>The first result of a stored command, rebuilt from its events as stored (read back, so that what is
    /// remembered per command is its id and version, not its events); the events are omitted if retention deleted them.</summary>
    private void AnswerStored(IActorRef sender, long version, int events)
    {
        var id = _id;
        PersistenceQuery.Get(Context.System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier)
            .CurrentEventsByPersistenceId(PersistenceId, version - events + 1, version)
            .RunWith(Sink.Seq<EventEnvelope>(), Context.System.Materializer())
            .ContinueWith(t => (object)new CommandAccepted(id, version, t.IsCompletedSuccessfully && t.Result.Count == events
                ? t.Result.Select(e => ((DomainEvent)e.Event).Payload).ToArray()
                : []), TaskScheduler.Default)
            .PipeTo(sender);
    }

    /// <summary>The first answer to a command id, as remembered: a command whose events were written (the version after
    /// them and how many they were: the result is read back), or the reply itself (a rejection, a command that raised
    /// nothing, a write the journal refused: small, and nothing to read back). A struct, kept inline in the dictionary
    /// of up to max-remembered-commands ids per aggregate.</summary>
    private readonly record struct FirstAnswer(long Version, int Events, object? Reply)
    {
        public static FirstAnswer Stored(long version, int events) => new(version, events, null);
    }

    /// <summary>Remembers a command's answer, and lets go of those older than the window or beyond the bound.</summary>
    private void Remember(string commandId, FirstAnswer answer, long at)
    {
        var since = DateTimeOffset.UtcNow.UtcTicks - _settings.IdempotencyWindow.Ticks;
        if (at < since) return;
        _storedIds ??= new Dictionary<CommandKey, FirstAnswer>();
        _storedOrder ??= new Queue<(CommandKey, long)>();
        while (_storedOrder.TryPeek(out var oldest) && (oldest.At < since || _storedOrder.Count >= _settings.MaxRememberedCommands))
            _storedIds.Remove(_storedOrder.Dequeue().Id);
        var key = CommandKey.Of(commandId);
        if (!_storedIds.TryAdd(key, answer)) return;
        _storedOrder.Enqueue((key, at));
    }

    /// <summary>Recovery: the events of one command are consecutive and carry its id; each command read is remembered
    /// with the result it had (its events and the version after them).</summary>
    private void Replayed(DomainEvent e)
    {
        // Only commands stored within the window matter: replaying an old aggregate remembers (and allocates) nothing.
        if (e.Metadata.CommandId is not { } commandId || e.Metadata.Timestamp.UtcTicks < DateTimeOffset.UtcNow.UtcTicks - _settings.IdempotencyWindow.Ticks)
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
        _replaySeq = LastSequenceNr;
        _replayAt = e.Metadata.Timestamp.UtcTicks;
    }

    private void RememberReplayed()
    {
        if (_replayId is null) return;
        Remember(_replayId, FirstAnswer.Stored(_replaySeq, _replayEvents), _replayAt);
        _replayId = null;
        _replayEvents = 0;
    }

    private void MaybeSnapshot()
    {
        var every = _settings.SnapshotEvery;
        if (every <= 0 || LastSequenceNr / every <= _lastSnapshotSeq / every) return;
        _lastSnapshotSeq = LastSequenceNr;
        var older = _keptSnapshots.Skip(Math.Max(0, _keptSnapshots.Count - (_settings.KeepSnapshots - 1))).ToArray();
        SaveSnapshot(new AggregateSnapshot(_state, older) { Commands = SnapshotCommands() });
    }

    /// <summary>The newest stored commands within the window (at most <c>idempotency.snapshot-commands</c>), oldest
    /// first: an incarnation recovering from this snapshot replays no event before it, so it learns them from here.</summary>
    private IReadOnlyList<RememberedCommand>? SnapshotCommands()
    {
        if (_storedOrder is not { Count: > 0 } order || _settings.SnapshotCommands == 0) return null;
        var since = DateTimeOffset.UtcNow.UtcTicks - _settings.IdempotencyWindow.Ticks;
        var all = order.ToArray();
        var kept = new List<RememberedCommand>();
        for (var i = all.Length - 1; i >= 0 && kept.Count < _settings.SnapshotCommands && all[i].At >= since; i--)
            if (_storedIds!.TryGetValue(all[i].Id, out var answer) && answer.Reply is null)
                kept.Add(new RememberedCommand(all[i].Id.ToString(), answer.Version, answer.Events, all[i].At));
        kept.Reverse();
        return kept.Count == 0 ? null : kept;
    }

    /// <summary>Retention: keep the newest N snapshots; optionally delete the events the oldest kept one covers.
    /// Only confirmed snapshots count, and the targets only grow, so a late or failed delete never loses ground.</summary>
    private void OnSnapshotSaved(long sequenceNr)
    {
        _keptSnapshots.Add(sequenceNr);
        _keptSnapshots.Sort(); // a snapshot store may confirm saves out of order
        var keep = _settings.KeepSnapshots;
        if (_keptSnapshots.Count > keep)
        {
            _snapshotsDeleteTarget = Math.Max(_snapshotsDeleteTarget, _keptSnapshots[^(keep + 1)]);
            _keptSnapshots = _keptSnapshots.GetRange(_keptSnapshots.Count - keep, keep);
        }
        if (_settings.DeleteEventsOnSnapshot && _keptSnapshots.Count == keep)
            _eventsDeleteTarget = Math.Max(_eventsDeleteTarget, _keptSnapshots[0]);
        PumpRetention();
    }

    /// <summary>Sends the delete requests that are due: at most one of each kind in flight, none while a retry waits.</summary>
    private void PumpRetention()
    {
        if (_retentionRetry is not null) return;
        if (!_snapshotsDeleteInFlight && _snapshotsDeleteTarget > _snapshotsDeleted)
        {
            _snapshotsDeleteInFlight = true;
            DeleteSnapshots(new SnapshotSelectionCriteria(_snapshotsDeleteTarget));
        }
        if (!_eventsDeleteInFlight && _eventsDeleteTarget > _eventsDeleted)
        {
            _eventsDeleteInFlight = true;
            DeleteMessages(_eventsDeleteTarget);
        }
        if (!RetentionPending) StopIfIdle();
    }

    private void RetentionFailed(Exception cause, string what)
    {
        _retentionFailures++;
        // 200 ms, 400 ms, ... capped at 30 s: a store that is down is not hammered, one that is back is used soon.
        var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 200 * Math.Pow(2, Math.Min(_retentionFailures - 1, 10))));
        Log.Warning(cause, "Retention of {0}: {1} failed (attempt {2}); retrying in {3} ms", PersistenceId, what,
            _retentionFailures, (long)delay.TotalMilliseconds);
        if (_retentionRetry is null)
        {
            _retentionRetry = Context.System.Scheduler.ScheduleTellOnceCancelable(delay, Self, RetryRetentionNow, Self);
        }
        StopIfIdle();
    }
}
