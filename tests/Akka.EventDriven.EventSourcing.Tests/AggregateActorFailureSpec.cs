using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.EventDriven.EventSourcing.Internal;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// What an aggregate's entity does when its journal fails under it, with a scripted journal: a failed write fails only
/// its own callers and the entity recovers from storage before it decides anything else, so the commands behind the
/// write are decided against what was really stored (Akka's <c>Eventsourced</c> stops the actor instead and drops its
/// mailbox); a recovery that fails for good answers every command with the reason; a transient one is tried again
/// while the commands wait.
/// </summary>
public sealed class AggregateActorFailureSpec : Akka.TestKit.Xunit2.TestKit
{
    /// <summary>An in-memory journal whose writes and replays fail as a test scripts them, per persistence id.</summary>
    public sealed class ScriptedJournal : MemoryJournal
    {
        /// <summary>Fail the next write of the id; store its events first when the value is true (a commit whose
        /// acknowledgement was lost).</summary>
        public static readonly ConcurrentDictionary<string, bool> FailNextWrite = new();

        /// <summary>Fail the next replays of the id with these exceptions, one per replay.</summary>
        public static readonly ConcurrentDictionary<string, ConcurrentQueue<Exception>> FailReplays = new();

        /// <summary>Recoveries of the id wait for this task before they go on (or fail as scripted).</summary>
        public static readonly ConcurrentDictionary<string, Task> HoldRecoveries = new();

        /// <summary>How many recoveries of the id were asked for.</summary>
        public static readonly ConcurrentDictionary<string, int> Replays = new();

        protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
        {
            var writes = messages.ToList();
            // The aggregate's events come tagged; the journal stores the payload (as the SQL journals do).
            var untagged = writes.Select(w => new AtomicWrite(((IImmutableList<IPersistentRepresentation>)w.Payload)
                .Select(p => p.Payload is Tagged t ? p.WithPayload(t.Payload) : p).ToImmutableList())).ToList();
            if (FailNextWrite.TryRemove(writes[0].PersistenceId, out var storeFirst))
            {
                if (storeFirst) base.WriteMessagesAsync(untagged, cancellationToken);
                return Task.FromException<IImmutableList<Exception>>(new InvalidOperationException("scripted write failure"));
            }
            return base.WriteMessagesAsync(untagged, cancellationToken);
        }

        // Every recovery asks for the highest sequence number first (the replay itself is skipped for an empty stream).
        public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
        {
            Replays.AddOrUpdate(persistenceId, 1, (_, n) => n + 1);
            if (HoldRecoveries.TryGetValue(persistenceId, out var hold)) await hold;
            if (FailReplays.TryGetValue(persistenceId, out var failures) && failures.TryDequeue(out var failure))
                throw failure;
            return await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
        }
    }

    private static readonly Config Config = ConfigurationFactory.ParseString($$"""
        akka.persistence.journal.plugin = "akka.persistence.journal.scripted"
        akka.persistence.journal.scripted {
          class = "{{typeof(ScriptedJournal).AssemblyQualifiedName}}"
          plugin-dispatcher = "akka.actor.default-dispatcher"
          recovery-event-timeout = 2s
        }
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """).WithFallback(EventSourcingConfig.DefaultConfig());

    public AggregateActorFailureSpec()
        : base(BootstrapSetup.Create().WithConfig(Config).And(new MessageTypesSetup(LedgerTypes.Current())), "failures")
    {
    }

    private IActorRef Entity(string id, IAggregate? aggregate = null)
    {
        var props = new AggregateType(Sys, aggregate ?? Ledger.Definition, AggregateSettings.Create(Config, Ledger.Definition.Name)).Props;
        // The entity takes its id from its name, and the name of a stopped incarnation is free only once its parent
        // has seen it terminate: a fresh one is created as soon as it is.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                return Sys.ActorOf(props, id);
            }
            catch (InvalidActorNameException) when (DateTime.UtcNow < deadline)
            {
                Thread.Yield();
            }
        }
    }

    private static string Pid(string id) => PersistenceIds.For(Ledger.Definition.Name, id);

    /// <summary>Recoveries of <paramref name="id"/> wait until the returned source is completed.</summary>
    private static TaskCompletionSource HoldRecoveries(string id)
    {
        var release = new TaskCompletionSource();
        ScriptedJournal.HoldRecoveries[Pid(id)] = release.Task;
        return release;
    }

    /// <summary>The next recovery of <paramref name="id"/> fails with <paramref name="failure"/>.</summary>
    private static void FailNextRecovery(string id, Exception failure) =>
        ScriptedJournal.FailReplays[Pid(id)] = new ConcurrentQueue<Exception>([failure]);

    private void Send(IActorRef entity, string id, object command) => entity.Tell(new AggregateCommand(id, command), TestActor);

    private LedgerState StateOf(IActorRef entity, string id)
    {
        entity.Tell(new GetAggregateState(id), TestActor);
        return (LedgerState)ExpectMsg<AggregateStateReply>().State;
    }

    [Fact]
    public void A_failed_write_fails_its_callers_and_the_commands_behind_it_are_decided_after_a_fresh_recovery()
    {
        var id = $"w-{Guid.NewGuid():N}";
        var entity = Entity(id);
        Send(entity, id, new Open("ada"));
        Assert.Equal(1, ExpectMsg<CommandAccepted>().Version);

        ScriptedJournal.FailNextWrite[Pid(id)] = false;
        Send(entity, id, new Deposit(5m));        // its write fails
        Send(entity, id, new Deposit(7m));        // waits behind that write in the entity
        entity.Tell(new GetAggregateState(id), TestActor);
        // Nothing is dropped: the failed deposit's caller is told so, the deposit behind it is decided after the entity
        // recovered (version 2: the failed one stored nothing), and the state read is answered (at the version stored
        // when it was read: before or after the recovery, never the failed write's).
        var replies = ReceiveN(3).ToList();
        Assert.Contains("Storing the events", Assert.Single(replies.OfType<CommandFailed>()).Reason);
        Assert.Equal(2, Assert.Single(replies.OfType<CommandAccepted>()).Version);
        var read = Assert.Single(replies.OfType<AggregateStateReply>());
        Assert.Contains((read.Version, ((LedgerState)read.State).Balance), new[] { (1L, 0m), (2L, 7m) });
        Assert.Equal(new LedgerState("ada", 7m, 2), StateOf(entity, id));
        Assert.Equal(2, ScriptedJournal.Replays[Pid(id)]); // the start, and once after the failed write
    }

    [Fact]
    public void After_a_write_whose_outcome_was_lost_the_entity_decides_against_what_was_stored()
    {
        var id = $"l-{Guid.NewGuid():N}";
        var entity = Entity(id);
        Send(entity, id, new Open("bo"));
        ExpectMsg<CommandAccepted>();

        ScriptedJournal.FailNextWrite[Pid(id)] = true; // stored, but reported as failed
        Send(entity, id, new Deposit(5m));
        Assert.Contains("Storing the events", ExpectMsg<CommandFailed>().Reason);
        // The entity did not keep its own idea of the state: it read the journal again and found the deposit.
        Send(entity, id, new Withdraw(5m));
        Assert.Equal(3, ExpectMsg<CommandAccepted>().Version);
        Assert.Equal(new LedgerState("bo", 0m, 3), StateOf(entity, id));
    }

    [Fact]
    public void A_recovery_that_fails_for_good_answers_every_command_with_the_reason()
    {
        var id = $"p-{Guid.NewGuid():N}";
        FailNextRecovery(id, new System.Text.Json.JsonException("bad payload at 3"));
        var entity = Entity(id);
        Send(entity, id, new Open("cy"));
        Assert.Contains("bad payload at 3", ExpectMsg<CommandFailed>().Reason);
        Send(entity, id, new Open("cy"));
        Assert.Contains("bad payload at 3", ExpectMsg<CommandFailed>().Reason);
        Assert.Equal(1, ScriptedJournal.Replays[Pid(id)]); // not tried again: it would fail the same way

        // Passivation stops it; a fresh entity recovers again.
        Watch(entity);
        entity.Tell(AggregateActor.Stop.Instance);
        ExpectTerminated(entity);
        var fresh = Entity(id);
        Send(fresh, id, new Open("cy"));
        Assert.Equal(1, ExpectMsg<CommandAccepted>().Version);
    }

    [Fact]
    public void A_transient_recovery_failure_is_retried_while_the_commands_wait()
    {
        var id = $"t-{Guid.NewGuid():N}";
        var release = HoldRecoveries(id);
        FailNextRecovery(id, new TimeoutException("connection timed out"));
        var entity = Entity(id);
        Send(entity, id, new Open("di"));
        Send(entity, id, new Deposit(3m));
        release.SetResult(); // the first recovery fails while both commands wait
        Assert.Equal(1, ExpectMsg<CommandAccepted>(TimeSpan.FromSeconds(10)).Version);
        Assert.Equal(2, ExpectMsg<CommandAccepted>().Version);
        Assert.Equal(2, ScriptedJournal.Replays[Pid(id)]);
    }

    [Fact]
    public void A_stop_during_a_recovery_that_fails_answers_what_waits_with_the_reason_and_one_that_succeeds_handles_it_first()
    {
        var id = $"s-{Guid.NewGuid():N}";
        var release = HoldRecoveries(id);
        FailNextRecovery(id, new TimeoutException("connection timed out"));
        var entity = Entity(id);
        Watch(entity);
        Send(entity, id, new Open("ed"));
        entity.Tell(AggregateActor.Stop.Instance);
        release.SetResult(); // the recovery fails after the command and the stop arrived
        // A transient failure would be retried while the command waits, but the entity is stopping: no retry, the
        // command gets the recovery's reason at once, and the entity stops.
        Assert.Contains("connection timed out", ExpectMsg<CommandFailed>().Reason);
        ExpectTerminated(entity);
        Assert.Equal(1, ScriptedJournal.Replays[Pid(id)]);

        var next = $"s-{Guid.NewGuid():N}";
        var hold = HoldRecoveries(next);
        var second = Entity(next);
        Watch(second);
        Send(second, next, new Open("fa"));
        second.Tell(AggregateActor.Stop.Instance);
        hold.SetResult();
        Assert.Equal(1, ExpectMsg<CommandAccepted>().Version); // handled before the entity stops
        ExpectTerminated(second);
    }

    /// <summary>The ledger, with an Apply that throws once on the fourth event (a bug that a fix made go away, say).</summary>
    private sealed class ApplyThrowsOnce(int[] throwsLeft) : Aggregate<LedgerState>
    {
        public override string Name => Ledger.Definition.Name;
        public override LedgerState InitialState => Ledger.Definition.InitialState;
        public override Decision Decide(LedgerState state, object command) => Ledger.Definition.Decide(state, command);

        public override LedgerState Apply(LedgerState state, object @event) =>
            state.Operations == 3 && Interlocked.Decrement(ref throwsLeft[0]) >= 0
                ? throw new InvalidOperationException("Apply failed on the fourth event")
                : Ledger.Definition.Apply(state, @event);
    }

    [Fact]
    public void An_event_that_fails_to_apply_during_recovery_is_retried_and_the_state_has_every_event_once()
    {
        var id = $"a-{Guid.NewGuid():N}";
        var writer = Entity(id);
        Send(writer, id, new Open("gus"));
        for (var i = 1; i <= 9; i++) Send(writer, id, new Deposit(i));
        ReceiveN(10);
        Watch(writer);
        writer.Tell(AggregateActor.Stop.Instance);
        ExpectTerminated(writer);

        var release = HoldRecoveries(id);
        var entity = Entity(id, new ApplyThrowsOnce([1]));
        Send(entity, id, new Deposit(100m)); // waits for the recovery
        release.SetResult();
        // The first replay fails at the fourth event; the rest of that replay is not taken for the second attempt's.
        Assert.Equal(11, ExpectMsg<CommandAccepted>(TimeSpan.FromSeconds(10)).Version);
        Assert.Equal(new LedgerState("gus", 145m, 11), StateOf(entity, id));
        Assert.Equal(3, ScriptedJournal.Replays[Pid(id)]); // the writer's start, the failed attempt and its retry
    }

    [Fact]
    public void A_recovery_that_hears_nothing_times_out_answers_what_waits_and_the_next_entity_recovers()
    {
        var id = $"o-{Guid.NewGuid():N}";
        var never = HoldRecoveries(id); // the journal never answers
        var entity = Entity(id);
        Watch(entity);
        Send(entity, id, new Open("hal"));
        var failed = ExpectMsg<CommandFailed>(TimeSpan.FromSeconds(15));
        Assert.Contains("timed out", failed.Reason);
        ExpectTerminated(entity); // stops: a late answer goes to dead letters, not to a later attempt

        ScriptedJournal.HoldRecoveries.TryRemove(Pid(id), out _);
        var fresh = Entity(id);
        Send(fresh, id, new Open("hal"));
        Assert.Equal(1, ExpectMsg<CommandAccepted>().Version);
        never.SetResult(); // the first recovery's late answer: nobody is waiting for it any more
    }
}
