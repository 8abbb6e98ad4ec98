using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.EventDriven.EventSourcing;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>
/// The one consumer (a sharded entity, so one per cluster) of a durable topic partition for one subscription group, or
/// of a queue. It reads the journaled log from its stored offset, hands messages to registered members, and stores
/// the offset of the acknowledged prefix. Topic subscriptions deliver in order to one active member (the others stand
/// by); queues hand each message to one member at a time, spread over members with a prefetch limit. Deliveries of a
/// member that leaves, dies (DeathWatch) or stops heartbeating for the visibility timeout are redelivered.
/// </summary>
internal sealed class DurableConsumerActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    public sealed class Stop
    {
        public static readonly Stop Instance = new();
    }

    private sealed record Loaded(long Offset);
    private sealed record ReadDone(List<(long Seq, BusEnvelope Message)> Rows, int RowCount, Exception? Error);
    private sealed record Saved(long Offset, Exception? Error);
    private sealed class Tick { public static readonly Tick Instance = new(); }
    private sealed class CommitTick { public static readonly CommitTick Instance = new(); }
    private sealed class LivenessTick { public static readonly LivenessTick Instance = new(); }
    private sealed class RetentionTick { public static readonly RetentionTick Instance = new(); }
    private sealed record RetentionDone(Exception? Error);
    private sealed class DrainDeadline { public static readonly DrainDeadline Instance = new(); }
    private sealed class Drained { public static readonly Drained Instance = new(); }

    private sealed class Member(IActorRef actor, int prefetch)
    {
        public IActorRef Actor { get; } = actor;
        public int Prefetch { get; set; } = prefetch;
        public int InFlight { get; set; }
        public long LastSeen { get; set; } = Environment.TickCount64;
        /// <summary>When an ack last arrived, and the latest send time among the deliveries acked so far.</summary>
        public long LastAckAt { get; set; } = Environment.TickCount64;
        public long LatestAckedSentAt { get; set; }
    }

    private sealed record InFlight(BusEnvelope Message, Member Member, long SentAt);

    private readonly string _consumerId;
    private readonly string _logId;
    private readonly string _persistenceId;
    private readonly bool _competing;
    private readonly BusSettings _settings;
    private readonly BusStore _store;
    private readonly IActorRef _mediator;
    private readonly BusMetrics _metrics;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private readonly SortedDictionary<long, BusEnvelope> _pending = new();
    private readonly Dictionary<long, InFlight> _inFlight = new();
    private readonly SortedSet<long> _ackedAhead = new();
    private readonly Dictionary<long, int> _deliveries = new();
    private readonly List<Member> _members = new();
    private long _committed, _stored, _readUpTo;
    private long? _holeSince;
    private bool _reading, _more = true, _saving, _retaining;
    /// <summary>Stopping (a hand-off or passivation): nothing more is sent, in-flight deliveries are awaited.</summary>
    private bool _draining, _stopping;
    private readonly bool _retention;
    private int _roundRobin, _readFailures;

    public DurableConsumerActor(string consumerId, BusSettings settings, BusStore store, IActorRef mediator, BusMetrics metrics)
    {
        _consumerId = consumerId;
        (_logId, _) = BusNames.ParseConsumer(consumerId);
        _persistenceId = PersistenceIds.For(BusLog.AggregateName, _logId);
        _competing = BusNames.IsQueueLog(_logId);
        _retention = !_competing && settings.RetentionEnabled;
        _settings = settings;
        _store = store;
        _mediator = mediator;
        _metrics = metrics;

        Receive<Loaded>(l =>
        {
            _committed = _readUpTo = l.Offset;
            // Stored at once (even 0): the group then holds retention back before it has acknowledged anything.
            _stored = l.Offset - 1;
            Commit();
            if (_retention) Timers.StartPeriodicTimer("retention", RetentionTick.Instance, _settings.RetentionInterval);
            Become(Active);
            Stash.UnstashAll();
        });
        Receive<Status.Failure>(f =>
        {
            _log.Warning("Bus consumer {0}: could not load its offset ({1}); retrying", _consumerId, f.Cause.Message);
            Timers.StartSingleTimer("load", LoadNow.Instance, TimeSpan.FromSeconds(1));
        });
        Receive<LoadNow>(_ => Load());
        Receive<Stop>(_ => Context.Stop(Self));
        ReceiveAny(_ => Stash.Stash());
    }

    private sealed class LoadNow { public static readonly LoadNow Instance = new(); }

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public static Props Props(string consumerId, BusSettings settings, BusStore store, IActorRef mediator, BusMetrics metrics) =>
        Akka.Actor.Props.Create(() => new DurableConsumerActor(consumerId, settings, store, mediator, metrics));

    protected override void PreStart()
    {
        _mediator.Tell(new Subscribe(BusNames.LogNotifyPrefix + _logId, Self));
        Timers.StartPeriodicTimer("poll", Tick.Instance, _settings.PollInterval);
        Timers.StartPeriodicTimer("commit", CommitTick.Instance, _settings.CommitInterval);
        Timers.StartPeriodicTimer("liveness", LivenessTick.Instance, _settings.HeartbeatInterval);
        Load();
    }

    private void Load() => _store.LoadStartAsync(_consumerId, _logId).PipeTo(Self, success: o => new Loaded(o));

    private void Active()
    {
        Receive<RegisterMember>(r =>
        {
            var member = _members.Find(m => m.Actor.Equals(r.Member));
            if (member is null)
            {
                _members.Add(member = new Member(r.Member, Math.Max(1, r.Prefetch)));
                Context.Watch(r.Member);
            }
            member.Prefetch = Math.Max(1, r.Prefetch);
            member.LastSeen = Environment.TickCount64;
            Pump();
        });
        Receive<UnregisterMember>(u => RemoveMember(u.Member, "unsubscribed"));
        Receive<Terminated>(t => RemoveMember(t.ActorRef, "terminated"));
        Receive<AckDeliveries>(a =>
        {
            var now = Environment.TickCount64;
            foreach (var seq in a.Sequences)
            {
                if (_inFlight.Remove(seq, out var f))
                {
                    f.Member.InFlight--;
                    f.Member.LastAckAt = now;
                    f.Member.LatestAckedSentAt = Math.Max(f.Member.LatestAckedSentAt, f.SentAt);
                }
                else if (!_pending.Remove(seq)) continue; // a late ack of a message already redelivered and acked
                // (an ack for a message moved back to pending is still a handled message: take it)
                _deliveries.Remove(seq);
                if (seq > _committed) _ackedAhead.Add(seq);
            }
            AdvanceCommitted();
            Pump();
            if (_draining && _inFlight.Count == 0) Self.Tell(Drained.Instance);
        });
        Receive<LogAppended>(_ =>
        {
            _more = true;
            Pump();
        });
        Receive<SubscribeAck>(_ => { });
        Receive<Tick>(_ =>
        {
            _more = true;
            Pump();
        });
        Receive<LivenessTick>(_ =>
        {
            var now = Environment.TickCount64;
            var deadline = now - (long)_settings.VisibilityTimeout.TotalMilliseconds;
            // A draining consumer hears no heartbeats (they come through the region, which routes to its successor
            // now) and sends nothing more: its members are judged by their acknowledgements and DeathWatch alone.
            if (_draining) return;
            foreach (var silent in _members.Where(m => m.LastSeen < deadline).ToList())
                RemoveMember(silent.Actor, $"no heartbeat for {_settings.VisibilityTimeout.TotalSeconds:0.#} s (visibility timeout)");
            RedeliverLost(deadline);
        });
        Receive<ReadDone>(OnRead);
        Receive<CommitTick>(_ => Commit());
        Receive<RetentionTick>(_ =>
        {
            if (_retaining) return;
            _retaining = true;
            _store.ApplyRetentionAsync(_logId, _persistenceId, _settings.RetentionMaxAge, _settings.RetentionMaxMessages)
                .ContinueWith(t => new RetentionDone(t.Exception?.GetBaseException()), TaskScheduler.Default).PipeTo(Self);
        });
        Receive<RetentionDone>(r =>
        {
            _retaining = false;
            if (r.Error is not null) _log.Warning("Bus consumer {0}: retention of its log failed ({1}); trying again later", _consumerId, r.Error.Message);
        });
        Receive<Saved>(s =>
        {
            _saving = false;
            if (s.Error is null) _stored = Math.Max(_stored, s.Offset);
            else _log.Warning("Bus consumer {0}: could not store offset {1} ({2}); retrying", _consumerId, s.Offset, s.Error.Message);
        });
        // The hand-off stop message (also passivation's). Acknowledgements come straight from the members (not through
        // the region, which stops routing here once the hand-off begins), so the in-flight deliveries can be awaited:
        // the successor then starts after all of them instead of delivering them again, maybe to another member.
        Receive<Stop>(_ =>
        {
            if (_draining) return;
            _draining = true;
            if (_inFlight.Count == 0)
            {
                Self.Tell(Drained.Instance);
                return;
            }
            // What members hold but have not started comes back at once (DeliveriesRevoked) and goes to the successor;
            // only deliveries being handled right now are waited for.
            foreach (var group in _inFlight.GroupBy(kv => kv.Value.Member))
                group.Key.Actor.Tell(new RevokeDeliveries(_consumerId, group.Select(kv => kv.Key).ToArray()));
            _log.Info("Bus consumer {0}: handing off; revoking {1} in-flight deliveries not yet started, waiting up to {2} s for the others",
                _consumerId, _inFlight.Count, _settings.HandOffDrainTimeout.TotalSeconds);
            Timers.StartSingleTimer("drain", DrainDeadline.Instance, _settings.HandOffDrainTimeout);
        });
        Receive<DeliveriesRevoked>(x =>
        {
            foreach (var seq in x.Sequences)
                if (_inFlight.Remove(seq, out var f))
                {
                    f.Member.InFlight--;
                    _pending[seq] = f.Message;
                }
            if (_draining && _inFlight.Count == 0) Self.Tell(Drained.Instance);
        });
        Receive<DrainDeadline>(_ =>
        {
            _log.Warning("Bus consumer {0}: {1} deliveries still unacknowledged after {2} s of hand-off; its successor delivers them again",
                _consumerId, _inFlight.Count, _settings.HandOffDrainTimeout.TotalSeconds);
            Self.Tell(Drained.Instance);
        });
        ReceiveAsync<Drained>(async _ =>
        {
            if (_stopping) return; // the last ack and the deadline can both report it
            _stopping = true;
            if (_committed > _stored)
            {
                try { await _store.SaveOffsetAsync(_consumerId, _committed); }
                catch (Exception e) { _log.Warning("Bus consumer {0}: offset {1} not stored at stop ({2})", _consumerId, _committed, e.Message); }
            }
            Context.Stop(Self);
        });
    }

    /// <summary>Remoting is at-most-once: a delivery or its ack can be lost while the member lives. A delivery sent
    /// more than the visibility timeout ago is presumed lost when its member has since acknowledged a later delivery
    /// (members handle in arrival order) or has acknowledged nothing for the visibility timeout. Ordered consumers then
    /// resend, in order, what was sent before the deadline; queues resend just the lost ones, to another member when
    /// possible. A member that still holds a resent delivery (a slow handler) drops the copy.</summary>
    private void RedeliverLost(long deadline)
    {
        List<long>? lost = null;
        foreach (var (seq, f) in _inFlight)
            if (f.SentAt < deadline && (f.Member.LatestAckedSentAt > f.SentAt || f.Member.LastAckAt < deadline))
                (lost ??= new List<long>()).Add(seq);
        if (lost is null) return;
        // Only what is overdue goes again (a member holding a delivery drops the copy); the ordered consumer's pending
        // set is sorted, so the resent deliveries still go out in order ahead of newer ones.
        if (!_competing) lost = _inFlight.Where(kv => kv.Value.SentAt < deadline).Select(kv => kv.Key).ToList();
        foreach (var seq in lost)
        {
            var f = _inFlight[seq];
            _inFlight.Remove(seq);
            f.Member.InFlight--;
            f.Member.LastAckAt = Environment.TickCount64; // give the member a fresh window before judging it again
            _pending[seq] = f.Message;
        }
        _metrics.Redelivered(lost.Count);
        _log.Warning("Bus consumer {0}: {1} deliveries not acknowledged within the visibility timeout ({2} s); redelivering",
            _consumerId, lost.Count, _settings.VisibilityTimeout.TotalSeconds);
        if (_competing) _roundRobin++; // prefer another member
        Pump();
    }

    private void AdvanceCommitted()
    {
        while (_ackedAhead.Count > 0 && _ackedAhead.Min == _committed + 1)
        {
            _ackedAhead.Remove(_committed + 1);
            _committed++;
        }
    }

    private void Commit()
    {
        if (_saving || _committed <= _stored) return;
        _saving = true;
        var offset = _committed;
        _store.SaveOffsetAsync(_consumerId, offset).ContinueWith(t => new Saved(offset, t.Exception?.GetBaseException()),
            TaskScheduler.Default).PipeTo(Self);
    }

    private void RemoveMember(IActorRef actor, string why)
    {
        RemoveMemberCore(actor, why);
        if (_draining && _inFlight.Count == 0) Self.Tell(Drained.Instance);
    }

    private void RemoveMemberCore(IActorRef actor, string why)
    {
        var member = _members.Find(m => m.Actor.Equals(actor));
        if (member is null) return;
        _members.Remove(member);
        Context.Unwatch(actor);
        var back = _inFlight.Where(kv => kv.Value.Member == member).Select(kv => kv.Key).ToList();
        foreach (var seq in back)
        {
            _pending[seq] = _inFlight[seq].Message;
            _inFlight.Remove(seq);
        }
        _metrics.Redelivered(back.Count);
        if (back.Count > 0)
            _log.Info("Bus consumer {0}: member {1} left ({2}); redelivering {3} message(s)", _consumerId, actor.Path, why, back.Count);
        Pump();
    }

    private void Pump()
    {
        Dispatch();
        Read();
    }

    private void Dispatch()
    {
        if (_members.Count == 0 || _draining) return;
        while (_pending.Count > 0 && _inFlight.Count < _settings.MaxInFlight)
        {
            Member target;
            if (_competing)
            {
                Member? free = null;
                for (var i = 0; i < _members.Count && free is null; i++)
                {
                    var m = _members[(_roundRobin + i) % _members.Count];
                    if (m.InFlight < m.Prefetch) free = m;
                }
                if (free is null) return;
                _roundRobin = (_roundRobin + 1) % _members.Count;
                target = free;
            }
            else
            {
                target = _members[0]; // ordered: one active member at a time
            }
            var (seq, message) = _pending.First();
            _pending.Remove(seq);
            var count = _deliveries.TryGetValue(seq, out var c) ? c + 1 : 1;
            _deliveries[seq] = count;
            if (target.InFlight == 0) target.LastAckAt = Environment.TickCount64; // an idle member's ack clock starts now
            _inFlight[seq] = new InFlight(message, target, Environment.TickCount64);
            target.InFlight++;
            target.Actor.Tell(new Deliver(_consumerId, seq, count, message));
        }
    }

    private void Read()
    {
        // Read-ahead is bounded by the distance from the committed offset, so one stuck message cannot make the
        // consumer hold an unbounded set of acknowledged sequence numbers behind it.
        if (_reading || !_more || _members.Count == 0 || _draining || _pending.Count >= _settings.ReadBatch
            || _readUpTo - _committed >= _settings.ReadBatch + _settings.MaxInFlight) return;
        _reading = true;
        _more = false;
        var after = _readUpTo;
        var limit = _settings.ReadBatch;
        var serialization = Context.System.Serialization;
        ReadAsync(after, limit, serialization).PipeTo(Self);
    }

    private async Task<ReadDone> ReadAsync(long after, int limit, Akka.Serialization.Serialization serialization)
    {
        try
        {
            var rows = await _store.ReadLogAsync(_persistenceId, after, limit);
            var messages = new List<(long, BusEnvelope)>(rows.Count);
            foreach (var (seq, payload, manifest, serializerId) in rows)
            {
                BusEnvelope message;
                try
                {
                    var stored = serialization.Deserialize(payload, serializerId, manifest);
                    message = (stored as DomainEvent)?.Payload as BusEnvelope
                              ?? UnreadableEntries.Envelope(_logId, seq, payload, manifest,
                                  $"not a bus message ({(stored as DomainEvent)?.Payload.GetType().Name ?? stored?.GetType().Name})");
                }
                catch (Exception e)
                {
                    // Not skipped: the member dead-letters it with its bytes and the error, so nothing is lost and a
                    // replay (once this node can read it) delivers it.
                    _log.Error(e, "Bus consumer {0}: log entry {1} ({2}) cannot be read; it goes to the dead-letter queue", _consumerId, seq, manifest);
                    message = UnreadableEntries.Envelope(_logId, seq, payload, manifest, $"{e.GetType().Name}: {e.Message}");
                }
                messages.Add((seq, message));
            }
            return new ReadDone(messages, rows.Count, null);
        }
        catch (Exception e)
        {
            return new ReadDone([], 0, e);
        }
    }

    private void OnRead(ReadDone done)
    {
        _reading = false;
        if (done.Error is null) _readFailures = 0;
        if (done.Error is not null)
        {
            // No journal table yet (nothing journaled) or the database is away: the poll tick tries again.
            if (++_readFailures % 10 == 3)
                _log.Warning("Bus consumer {0}: reading its log failed {1} times in a row: {2}", _consumerId, _readFailures, done.Error.Message);
            return;
        }
        foreach (var (seq, message) in done.Rows)
        {
            if (seq != _readUpTo + 1)
            {
                // A hole in the sequence: a write still committing, or deleted events. Wait for it a while, then pass.
                _holeSince ??= Environment.TickCount64;
                if (Environment.TickCount64 - _holeSince < 10_000)
                {
                    _more = true;
                    Timers.StartSingleTimer("hole", Tick.Instance, TimeSpan.FromMilliseconds(50));
                    break;
                }
                _log.Error("Bus consumer {0}: sequence numbers {1}..{2} are missing from the log for 10 s (deleted?); skipping them",
                    _consumerId, _readUpTo + 1, seq - 1);
                for (var s = _readUpTo + 1; s < seq; s++) if (s > _committed) _ackedAhead.Add(s);
            }
            _holeSince = null;
            _readUpTo = seq;
            if (seq <= _committed) continue;
            _pending[seq] = message;
        }
        if (done.RowCount >= _settings.ReadBatch) _more = true;
        AdvanceCommitted();
        Pump();
    }
}

/// <summary>Routes consumer messages to the entity of their consumer id.</summary>
internal sealed class ConsumerMessageExtractor() : HashCodeMessageExtractor(100)
{
    public override string? EntityId(object message) => message switch
    {
        RegisterMember r => r.ConsumerId,
        UnregisterMember u => u.ConsumerId,
        AckDeliveries a => a.ConsumerId,
        _ => null,
    };
}
