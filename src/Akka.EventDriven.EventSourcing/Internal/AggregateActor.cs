using System.Collections.Immutable;
using Akka.Actor;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Serialization;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace Akka.EventDriven.EventSourcing.Internal;

/// <summary>
/// The persistent actor of one aggregate id. Commands are decided against the state that includes every earlier
/// accepted command's events; commands that arrive while a write is in flight are group-committed in the next
/// single atomic write, and each caller is answered only after that write is durable.
/// </summary>
internal sealed class AggregateActor : UntypedPersistentActor
{
    private sealed record BatchWritten;
    private static readonly BatchWritten Written = new();

    private readonly string _id;
    private readonly IAggregate _aggregate;
    private readonly AggregateSettings _settings;
    private readonly MessageTypeRegistry _registry;
    private readonly ImmutableHashSet<string> _baseTags;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<(AggregateCommand Command, IActorRef Sender)> _buffer = [];

    private object _state;
    private List<(IActorRef Sender, object Reply)>? _inFlight;
    private object? _inFlightState;
    private bool _inFlightRejected;
    private long _lastSnapshotSeq;
    private List<long> _keptSnapshots = [];
    private long? _recoveredFromSnapshot;
    private long _eventsReplayed;
    private bool _stopRequested;
    private string? _broken;

    public AggregateActor(string id, IAggregate aggregate, AggregateSettings settings)
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
        Actor.Props.Create(typeof(AggregateActor), id, aggregate, settings);

    public override string PersistenceId { get; }

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: AggregateSnapshot snapshot } offer:
                _state = snapshot.State;
                _recoveredFromSnapshot = _lastSnapshotSeq = offer.Metadata.SequenceNr;
                _keptSnapshots = [.. snapshot.OlderSnapshots, offer.Metadata.SequenceNr];
                break;
            case DomainEvent e:
                _state = _aggregate.Apply(_state, e.Payload);
                _eventsReplayed++;
                break;
            case RecoveryCompleted:
                Context.Parent.Tell(new AggregateEntity.ChildReady());
                break;
        }
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        var text = $"Recovery of '{PersistenceId}' failed: {reason.GetBaseException().Message}";
        var permanent = Causes(reason).Any(e => e is UnknownMessageTypeException or System.Text.Json.JsonException);
        Context.Parent.Tell(new AggregateEntity.ChildRecoveryFailed(text, permanent));
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
        if (_broken is not null)
        {
            // After a failed write: answer whatever was already on its way here, then stop (see AggregateEntity).
            if (message is AggregateEntity.Drain) Context.Stop(Self);
            else if (message is AggregateCommand or GetAggregateState) Sender.Tell(new CommandFailed(_id, _broken));
            return;
        }
        switch (message)
        {
            case AggregateCommand command:
                _buffer.Add((command, Sender));
                if (_inFlight is null) Flush();
                break;
            case AggregateEntity.Stop:
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
                _log.Warning(failed.Cause, "Snapshot of {0} at {1} failed", PersistenceId, failed.Metadata.SequenceNr);
                break;
            case DeleteSnapshotsFailure df:
                _log.Warning(df.Cause, "Deleting old snapshots of {0} failed", PersistenceId);
                break;
            case DeleteMessagesFailure dm:
                _log.Warning(dm.Cause, "Deleting events of {0} up to {1} failed", PersistenceId, dm.ToSequenceNr);
                break;
            case DeleteSnapshotsSuccess or DeleteMessagesSuccess:
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
            var replies = new List<(IActorRef, object)>(count);
            var writes = new List<object>();
            var now = DateTimeOffset.UtcNow;

            for (var i = 0; i < count; i++)
            {
                var (command, sender) = _buffer[i];
                replies.Add((sender, Decide(command, ref state, ref version, writes, now)));
            }
            _buffer.RemoveRange(0, count);

            if (writes.Count == 0)
            {
                foreach (var (sender, reply) in replies) sender.Tell(reply);
                continue;
            }

            _inFlight = replies;
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
                $"Expected version {expected} but aggregate '{PersistenceId}' is at version {version}.");

        Decision decision;
        var next = state;
        var tagged = new List<object>();
        try
        {
            decision = _aggregate.Decide(state, command.Command);
            if (decision.IsRejected) return new CommandRejected(_id, version, decision.RejectionReason!);
            var metadata = decision.Events.Count > 0
                ? new EventMetadata(now, command.CorrelationId, command.CausationId, command.Headers)
                : null;
            foreach (var e in decision.Events)
            {
                if (!_registry.IsRegistered(e.GetType()))
                    return new CommandFailed(_id, new UnregisteredMessageTypeException(e.GetType()).Message);
                next = _aggregate.Apply(next, e);
                var extra = _aggregate.Tags(e) ?? [];
                var tags = extra is ICollection<string> { Count: 0 } ? _baseTags : _baseTags.Union(extra);
                tagged.Add(new Tagged(new DomainEvent(e, metadata!), tags));
            }
        }
        catch (Exception ex)
        {
            // A throwing handler is a bug, not a business rejection: the caller gets a failure, nothing is stored.
            _log.Error(ex, "Command {0} failed in aggregate {1}", command.Command.GetType().Name, PersistenceId);
            return new CommandFailed(_id,
                $"Command '{command.Command.GetType().Name}' threw {ex.GetType().Name}: {ex.Message}");
        }

        writes.AddRange(tagged);
        state = next;
        version += decision.Events.Count;
        return new CommandAccepted(_id, version, decision.Events);
    }

    private void OnBatchWritten()
    {
        if (_inFlight is not { } replies) return; // the write failed and was answered in OnPersistFailure
        _inFlight = null;
        if (!_inFlightRejected)
        {
            _state = _inFlightState!;
            foreach (var (sender, reply) in replies) sender.Tell(reply);
            MaybeSnapshot();
        }
        _inFlightState = null;
        if (_buffer.Count > 0) Flush();
        StopIfIdle();
    }

    private void StopIfIdle()
    {
        if (_stopRequested && _inFlight is null && _buffer.Count == 0) Context.Stop(Self);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // Called once per event of the rejected atomic write: answer the callers once; state stays as it was.
        if (_inFlight is null || _inFlightRejected) return;
        _inFlightRejected = true;
        var reason = $"The journal rejected the events of '{PersistenceId}': {cause.GetBaseException().Message}";
        foreach (var (sender, _) in _inFlight) sender.Tell(new CommandFailed(_id, reason));
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // The write may or may not have happened, so this incarnation must not write again. Instead of stopping at
        // once (which would drop what is already in the mailbox), fail every caller, tell the parent, and answer
        // everything until the parent's Drain arrives; the next command then recovers from storage.
        if (_broken is not null) return; // called once per event of the failed write
        _broken = $"Storing the events of '{PersistenceId}' failed: {cause.GetBaseException().Message}";
        _log.Error(cause, "Persist failure in {0} at sequence number {1}", PersistenceId, sequenceNr);
        foreach (var (sender, _) in _inFlight ?? []) sender.Tell(new CommandFailed(_id, _broken));
        foreach (var (_, sender) in _buffer) sender.Tell(new CommandFailed(_id, _broken));
        _inFlight = null;
        _buffer.Clear();
        Context.Parent.Tell(new AggregateEntity.ChildBroken());
    }

    private void MaybeSnapshot()
    {
        var every = _settings.SnapshotEvery;
        if (every <= 0 || LastSequenceNr / every <= _lastSnapshotSeq / every) return;
        _lastSnapshotSeq = LastSequenceNr;
        var older = _keptSnapshots.Skip(Math.Max(0, _keptSnapshots.Count - (_settings.KeepSnapshots - 1))).ToArray();
        SaveSnapshot(new AggregateSnapshot(_state, older));
    }

    /// <summary>Retention: keep the newest N snapshots; optionally delete the events the oldest kept one covers.</summary>
    private void OnSnapshotSaved(long sequenceNr)
    {
        _keptSnapshots.Add(sequenceNr);
        _keptSnapshots.Sort(); // a snapshot store may confirm saves out of order
        var keep = _settings.KeepSnapshots;
        if (_keptSnapshots.Count > keep)
        {
            var newestToDrop = _keptSnapshots[^(keep + 1)];
            DeleteSnapshots(new SnapshotSelectionCriteria(newestToDrop));
            _keptSnapshots = _keptSnapshots.GetRange(_keptSnapshots.Count - keep, keep);
        }
        if (_settings.DeleteEventsOnSnapshot && _keptSnapshots.Count == keep)
            DeleteMessages(_keptSnapshots[0]);
    }
}

