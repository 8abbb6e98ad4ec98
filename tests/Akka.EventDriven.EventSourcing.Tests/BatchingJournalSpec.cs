using Akka.EventDriven.Storage;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// The group-committing PostgreSQL journal when one write is stuck (a transaction that does not commit) or bad (a
/// value PostgreSQL rejects): other aggregates are neither held back nor failed with it, and a write is never reported
/// failed while it may still commit.
/// </summary>
public sealed class BatchingJournalSpec
{
    [Fact]
    public async Task A_write_held_open_for_one_aggregate_does_not_hold_back_the_acknowledgements_of_others()
    {
        // The held INSERT waits on a row lock; Npgsql's default 30 s command timeout would end that wait (and fail the
        // held command) if the others took that long on a loaded machine, so this store allows 120 s.
        var own = await PrivateDatabase.CreateAsync();
        var store = own with
        {
            ConnectionString = StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, own.ConnectionString) + ";Command Timeout=120",
        };
        await using var node = await NodeHost.StartAsync(store);
        var run = Guid.NewGuid().ToString("N")[..12];
        await node.Ledger.SendAsync($"{run}-warmup", new Open("w")); // the journal tables exist

        await using var blocker = await HeldJournalRow.BeginAsync(store, PersistenceIds.For("Ledger", $"{run}-held"), 1);
        // What is tested is order, not speed: the held command may wait far longer than the others need even on a
        // loaded machine (ten fresh aggregates there can take most of the default 15 s), so that it can only finish
        // first if the others really are held back behind it.
        var patient = new CommandOptions { Timeout = TimeSpan.FromSeconds(90) };
        var held = node.Ledger.SendAsync($"{run}-held", new Open("held"), patient);
        await blocker.WaitUntilWaitedOnAsync(); // the held aggregate's journal write is in flight, blocked

        var others = Task.WhenAll(Enumerable.Range(0, 10).Select(i => node.Ledger.SendAsync($"{run}-{i}", new Open("o"), patient)));
        await Task.WhenAny(others, held);
        Assert.False(held.IsCompleted, "the held write cannot have completed: its transaction is still blocked; it ended " +
                                       (held.IsFaulted ? held.Exception!.GetBaseException().Message : held.Status.ToString()));
        Assert.All(await others, r => Assert.Equal(1, Assert.IsType<CommandAccepted>(r).Version));

        await blocker.RollbackAsync();
        Assert.Equal(1, Assert.IsType<CommandAccepted>(await held).Version);
    }

    [Fact]
    public async Task A_claimed_write_that_outlives_the_circuit_breaker_timeout_is_not_reported_failed_and_no_event_is_lost_or_duplicated()
    {
        var store = await PrivateDatabase.CreateAsync();
        await using var node = await NodeHost.StartAsync(store,
            extraHocon: "akka.persistence.journal.event-driven-postgresql.circuit-breaker.call-timeout = 1s");
        var id = $"slow-{Guid.NewGuid():N}";
        Assert.Equal(1, (await node.Ledger.SendAsync(id, new Open("s"))).Version);

        await using var blocker = await HeldJournalRow.BeginAsync(store, PersistenceIds.For("Ledger", id), 2);
        var first = node.Ledger.SendAsync(id, new Deposit(1m));
        await blocker.WaitUntilWaitedOnAsync(); // its write is claimed and in the database, blocked
        var second = node.Ledger.SendAsync(id, new Deposit(2m));

        // Several call-timeouts pass while the write is still in flight: its caller must not hear "failed" (it may
        // yet commit, which it will once the blocker rolls back).
        await TestWait.NeverWithinAsync(() => first.IsCompleted, TimeSpan.FromSeconds(5), () =>
            $"answered while its write was in flight: {(first.IsFaulted ? first.Exception!.GetBaseException().Message : first.Result.ToString())}");

        await blocker.RollbackAsync();
        Assert.Equal(2, Assert.IsType<CommandAccepted>(await first).Version);
        Assert.Equal(3, Assert.IsType<CommandAccepted>(await second).Version);
        var history = await node.Ledger.GetHistoryAsync(id);
        Assert.Equal([1L, 2L, 3L], history.Select(e => e.SequenceNr));
        Assert.Equal(3m, (await node.Ledger.GetStateAsync(id)).State.Balance);
    }

    [Fact]
    public async Task A_value_postgresql_rejects_fails_only_its_own_write_in_a_batch_of_many_aggregates()
    {
        var store = await PrivateDatabase.CreateAsync();
        // One writer, so that every request queued behind the blocked one is stored in a single batch.
        await using var node = await NodeHost.StartAsync(store, extraHocon: "akka.persistence.journal.event-driven-postgresql.parallelism = 1");
        var run = Guid.NewGuid().ToString("N")[..12];
        await node.Ledger.SendAsync($"{run}-warmup", new Open("w")); // the journal tables exist
        var journal = Persistence.Persistence.Instance.Apply(node.System).JournalFor(null);

        var blockedId = $"{run}-blocked";
        await using var blocker = await HeldJournalRow.BeginAsync(store, blockedId, 1);
        var blocked = Write(node.System, journal, blockedId, "ok");
        await blocker.WaitUntilWaitedOnAsync();

        // Written straight to the journal: the API edge's validation is not what is tested, the journal is.
        var writes = Enumerable.Range(0, 20)
            .Select(i => (Id: $"{run}-{i}", Reply: Write(node.System, journal, $"{run}-{i}", i == 7 ? "bad\0tag" : "ok")))
            .ToArray();
        await Barrier(node.System, journal); // the journal has queued all of them
        await blocker.RollbackAsync();

        Assert.IsType<WriteMessageSuccess>(await blocked);
        foreach (var (id, reply) in writes)
        {
            var result = await reply;
            if (id.EndsWith("-7")) Assert.IsNotType<WriteMessageSuccess>(result);
            else Assert.True(result is WriteMessageSuccess, $"{id}: {result}");
        }
    }

    [Fact]
    public async Task A_recovery_queued_behind_a_write_in_flight_when_the_journal_stops_is_answered_with_a_failure()
    {
        // A recovery waits for its stream's write in flight (it must not read a highest sequence number that write is
        // about to change). If the journal stops meanwhile, the recovery is queued after the queue was drained: it must
        // still be answered, or its entity waits for its recovery timeout with nothing to say why.
        var store = await PrivateDatabase.CreateAsync();
        await using var node = await NodeHost.StartAsync(store);
        var run = Guid.NewGuid().ToString("N")[..12];
        await node.Ledger.SendAsync($"{run}-warmup", new Open("w")); // the journal tables exist
        var journal = Persistence.Persistence.Instance.Apply(node.System).JournalFor(null);

        var id = $"{run}-held";
        await using var blocker = await HeldJournalRow.BeginAsync(store, id, 1);
        var write = Write(node.System, journal, id, "ok");
        await blocker.WaitUntilWaitedOnAsync(); // the write is in the database, blocked

        var replay = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var recovering = node.System.ActorOf(Props.Create(() => new ReplyCollector(replay)));
        journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, id, recovering));
        await Barrier(node.System, journal); // the journal has taken the recovery (and parked it behind the write)
        Assert.False(replay.Task.IsCompleted, "the recovery cannot be answered while its stream's write is in flight");

        Assert.True(await journal.GracefulStop(TimeSpan.FromSeconds(30)), "the journal did not stop");
        await blocker.RollbackAsync(); // the write ends (whatever its outcome): the recovery is released

        var answer = await replay.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var failure = Assert.IsType<ReplayMessagesFailure>(answer);
        Assert.Contains("stopped", failure.Cause.Message);
        await write; // the write was answered too
    }

    /// <summary>Writes one event of <paramref name="persistenceId"/> (sequence number 1) through the journal protocol;
    /// completes with the per-message reply.</summary>
    private static Task<object> Write(ActorSystem system, IActorRef journal, string persistenceId, string tag)
    {
        var reply = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var writer = system.ActorOf(Props.Create(() => new ReplyCollector(reply)));
        var persistent = new Persistent(new Tagged("payload", [tag]), 1, persistenceId, "", false, ActorRefs.NoSender, Guid.NewGuid().ToString());
        journal.Tell(new WriteMessages([new AtomicWrite(persistent)], writer, 1));
        return reply.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Completes once the journal actor has handled every message sent to it before (it answers in order).</summary>
    private static Task Barrier(ActorSystem system, IActorRef journal)
    {
        var reply = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = system.ActorOf(Props.Create(() => new ReplyCollector(reply)));
        journal.Tell(new ReplayMessages(1, 0, 0, $"barrier-{Guid.NewGuid():N}", probe));
        return reply.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private sealed class ReplyCollector : ReceiveActor
    {
        public ReplyCollector(TaskCompletionSource<object> reply) =>
            ReceiveAny(m =>
            {
                // The batch-level reply (WriteMessagesSuccessful/Failed) comes first; the per-message one is the answer.
                if (m is WriteMessagesSuccessful or WriteMessagesFailed) return;
                reply.TrySetResult(m);
            });
    }
}
