#region usings
using Akka;
using Akka.EventDriven.Projections;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
#endregion
using System.Collections.Concurrent;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.Streams;

namespace Akka.EventDriven.Projections.Tests;

/// <summary>
/// The Akka.Persistence.Query read journal over the gap-safe reader: the standard queries with Sequence offsets, and a
/// live query that waits for a late commit instead of skipping it (PostgreSQL, as LateCommitSpec: a write held open by the
/// test).
/// </summary>
[Collection(SerialDatabaseCollection.Name)]
public sealed class ReadJournalSpec
{
    private static async Task<TestStore> OwnStoreAsync() =>
        Environment.GetEnvironmentVariable("DATABASE_URL") is { Length: > 0 } ? await PrivateDatabase.CreateAsync() : TestStore.NewSqlite();

    [Fact]
    public async Task The_current_queries_return_what_is_stored_in_journal_order_and_resume_after_a_sequence_offset()
    {
        await using var node = await NodeHost.StartAsync(await OwnStoreAsync());
        var system = node.System;
        await node.Ledger.SendAsync("a", new Open("first"));
        await node.Ledger.SendAsync("b", new Open("second"));
        await node.Ledger.SendAsync("a", new Deposit(5));

        #region read-journal
        var journal = PersistenceQuery.Get(system).ReadJournalFor<EventDrivenReadJournal>(EventDrivenReadJournal.Identifier);
        // What is stored now (then the stream completes); e.Offset is a Sequence: the journal ordering to resume after.
        IReadOnlyList<EventEnvelope> all = await journal.CurrentEventsByTag("Ledger", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), system);
        // Live from an offset on (AllEvents and CurrentAllEvents read every tag); never skips a late-committed event.
        Source<EventEnvelope, NotUsed> live = journal.EventsByTag("Ledger", all[0].Offset);
        #endregion
        var fromFirst = await live.Take(2).RunWith(Sink.Seq<EventEnvelope>(), system).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(all.Skip(1).Select(e => e.Offset), fromFirst.Select(e => e.Offset));
        Assert.Equal([("Ledger-a", 1L), ("Ledger-b", 1L), ("Ledger-a", 2L)], all.Select(e => (e.PersistenceId, e.SequenceNr)));
        Assert.IsType<Opened>(all[0].Event);                   // the aggregate's event, not the stored wrapper
        Assert.Equal(5, Assert.IsType<Deposited>(all[2].Event).Amount);
        var offsets = all.Select(e => Assert.IsType<Sequence>(e.Offset).Value).ToList();
        Assert.Equal(offsets.Order(), offsets);
        Assert.All(all, e => Assert.Contains("Ledger", e.Tags));
        Assert.All(all, e => Assert.True(e.Timestamp > 0));

        // After the first event's offset: the other two. Nothing is tagged "Nothing": empty, and complete.
        var rest = await journal.CurrentEventsByTag("Ledger", all[0].Offset).RunWith(Sink.Seq<EventEnvelope>(), node.System.Materializer());
        Assert.Equal(all.Skip(1).Select(e => e.Offset), rest.Select(e => e.Offset));
        Assert.Empty(await journal.CurrentEventsByTag("Nothing", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), node.System.Materializer()));
        var everything = await journal.CurrentAllEvents(Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), node.System.Materializer());
        Assert.Equal(offsets, everything.Select(e => ((Sequence)e.Offset).Value));

        // The envelope source pays for tags only when asked (the pipelines' EventSource does not).
        var bare = await journal.Envelopes("Ledger", 0, live: false).RunWith(Sink.Seq<ProjectionEnvelope>(), system);
        var tagged = await journal.Envelopes("Ledger", 0, live: false, includeTags: true).RunWith(Sink.Seq<ProjectionEnvelope>(), system);
        Assert.Equal(offsets, bare.Select(e => e.Offset));
        Assert.All(bare, e => Assert.Empty(e.Tags));
        Assert.All(tagged, e => Assert.Contains("Ledger", e.Tags));

        Assert.Throws<ArgumentException>(() => journal.AllEvents(Offset.TimeBasedUuid(Guid.NewGuid())));
        Assert.Throws<ArgumentException>(() => journal.EventsByTag(" ", Offset.NoOffset()));
    }

    /// <summary>Runs a live EventsByTag("Ledger") from the start into a queue and waits for the events already stored.</summary>
    private static async Task<(ConcurrentQueue<EventEnvelope> Seen, UniqueKillSwitch Kill, Task Done)> LiveFromStartAsync(
        EventDrivenReadJournal journal, NodeHost node, int expectFirst)
    {
        var seen = new ConcurrentQueue<EventEnvelope>();
        var (kill, done) = journal.EventsByTag("Ledger", Offset.NoOffset())
            .ViaMaterialized(KillSwitches.Single<EventEnvelope>(), Keep.Right)
            .ToMaterialized(Sink.ForEach<EventEnvelope>(seen.Enqueue), Keep.Both)
            .Run(node.System.Materializer());
        await TestWait.UntilAsync(() => { Assert.Equal(expectFirst, seen.Count); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));
        return (seen, kill, done);
    }

    [Fact]
    public async Task A_live_query_delivers_events_written_after_it_started()
    {
        await using var node = await NodeHost.StartAsync(await OwnStoreAsync());
        var journal = EventDrivenReadJournal.For(node.System);
        await node.Ledger.SendAsync("a", new Open("before"));
        var (seen, kill, done) = await LiveFromStartAsync(journal, node, expectFirst: 1);
        await node.Ledger.SendAsync("b", new Open("after"));
        await node.Ledger.SendAsync("b", new Deposit(1));
        await TestWait.UntilAsync(() => { Assert.Equal(3, seen.Count); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));
        Assert.Equal(["Ledger-a", "Ledger-b", "Ledger-b"], seen.Select(e => e.PersistenceId));
        Assert.False(done.IsCompleted, "a live query completed");
        kill.Shutdown();
        await done.WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Three writes: the test's held row takes an ordering (it will roll back), the aggregate's write blocked
    /// behind it takes the next, others commit after both. A live query must hand out nothing past the held orderings
    /// while their writers run, then the late event in its place.</summary>
    [Fact]
    public async Task A_live_query_waits_for_a_late_commit_and_delivers_it_in_ordering_order()
    {
        var store = await PrivateDatabase.CreateAsync();
        await using var node = await NodeHost.StartAsync(store);
        await node.Ledger.SendAsync("warmup", new Open("w"));
        var journal = EventDrivenReadJournal.For(node.System);
        var (seen, kill, done) = await LiveFromStartAsync(journal, node, expectFirst: 1);

        await using var blocker = await HeldJournalRow.BeginAsync(store, PersistenceIds.For("Ledger", "held"), 1);
        var held = node.Ledger.SendAsync("held", new Open("late"));
        await blocker.WaitUntilWaitedOnAsync();
        var others = Task.WhenAll(Enumerable.Range(0, 5).Select(i => node.Ledger.SendAsync($"o{i}", new Open("o"))));
        await others.WaitAsync(TimeSpan.FromSeconds(30));
        await TestWait.NeverWithinAsync(() => seen.Count > 1, TimeSpan.FromSeconds(2),
            () => $"the query passed a hole whose writer was in flight: {string.Join(", ", seen.Select(e => e.PersistenceId))}");

        await blocker.RollbackAsync();
        Assert.IsType<CommandAccepted>(await held);
        await TestWait.UntilAsync(() => { Assert.Equal(7, seen.Count); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));
        var ids = seen.Select(e => e.PersistenceId).ToList();
        Assert.Equal("Ledger-held", ids[1]);                    // the late event, in its place before the later commits
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"Ledger-o{i}").Order(), ids.Skip(2).Order());
        var offsets = seen.Select(e => ((Sequence)e.Offset).Value).ToList();
        Assert.Equal(offsets.Order(), offsets);
        kill.Shutdown();
        await done.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
