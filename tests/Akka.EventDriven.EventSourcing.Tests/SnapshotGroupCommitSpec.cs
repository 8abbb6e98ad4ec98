using Akka.Persistence;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Microsoft.Data.Sqlite;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// What "a snapshot every N events" means under group commit, where many commands to one aggregate can be stored as
/// one write: after each write, a snapshot is taken (at the write's last event) when the write crossed a multiple of
/// N; a write that crosses several multiples takes one snapshot. The test makes the database hold one write while 247
/// more commands arrive, so that those are stored together, deterministically.
/// </summary>
public abstract class SnapshotGroupCommitSpec
{
    protected abstract Task<TestStore> NewStoreAsync();

    /// <summary>Makes the database hold back the journal write of <paramref name="persistenceId"/>'s event
    /// <paramref name="sequenceNr"/> until the returned function is called.</summary>
    protected abstract Task<Func<Task>> HoldWriteAsync(TestStore store, string persistenceId, long sequenceNr);

    [Fact]
    public async Task The_first_write_that_crosses_each_multiple_of_snapshot_every_takes_the_snapshot()
    {
        var store = await NewStoreAsync();
        await using var node = await NodeHost.StartAsync(store, aggregate: a =>
        {
            a.SnapshotEvery = 100;
            a.KeepSnapshots = 5;
        });
        var id = $"snap-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("ivy"));
        await node.Ledger.SendAsync(id, new Deposit(1m)); // version 2; the journal's tables exist now

        // The deposit that becomes version 3 is written alone and held by the database; the 247 sent after it wait in
        // the entity meanwhile, and are then stored as one write: versions 4 to 250, crossing 100 and 200 at once.
        var release = await HoldWriteAsync(store, PersistenceIds.For("Ledger", id), 3);
        var replies = new TestProbe(node.System, new XunitAssertions());
        var state = new TestProbe(node.System, new XunitAssertions());
        try
        {
            for (var i = 0; i < 248; i++) node.Ledger.Region.Tell(new AggregateCommand(id, new Deposit(1m)), replies.Ref);
            node.Ledger.Region.Tell(new GetAggregateState(id), state.Ref);
            // Answered after the entity took in every deposit above (same sender, same path) and before any was stored.
            Assert.Equal(2, state.ExpectMsg<AggregateStateReply>(TimeSpan.FromSeconds(30)).Version);
        }
        finally
        {
            await release();
        }
        var versions = Enumerable.Range(0, 248).Select(_ => replies.ExpectMsg<CommandAccepted>(TimeSpan.FromSeconds(30)).Version);
        Assert.Equal(Enumerable.Range(3, 248).Select(v => (long)v), versions);

        await WaitForNewestSnapshotAsync(node, id, 250);
        Assert.Null(await AggregateContractSpec.LoadSnapshotAsync(node, id, 249)); // none at 100 nor at 200
        Assert.Equal(new LedgerState("ivy", 249m, 250), StateOf(await AggregateContractSpec.LoadSnapshotAsync(node, id, 250)));

        // One command per write from here: the write that reaches 300 takes the next one, none is taken before it.
        for (var v = 251; v <= 300; v++) await node.Ledger.SendAsync(id, new Deposit(1m));
        await WaitForNewestSnapshotAsync(node, id, 300);
        Assert.Equal(250, (await AggregateContractSpec.LoadSnapshotAsync(node, id, 299))?.Metadata.SequenceNr);
        Assert.Equal(new LedgerState("ivy", 299m, 300), StateOf(await AggregateContractSpec.LoadSnapshotAsync(node, id, 300)));
    }

    private static object StateOf(SelectedSnapshot? snapshot) =>
        Assert.IsType<AggregateSnapshot>(Assert.IsType<SelectedSnapshot>(snapshot).Snapshot).State;

    private static Task WaitForNewestSnapshotAsync(NodeHost node, string id, long sequenceNr) =>
        TestWait.UntilAsync(async () =>
            Assert.Equal(sequenceNr, (await AggregateContractSpec.LoadSnapshotAsync(node, id, long.MaxValue))?.Metadata.SequenceNr),
            TimeSpan.FromSeconds(30));
}

public sealed class SqliteSnapshotGroupCommitSpec : SnapshotGroupCommitSpec
{
    protected override Task<TestStore> NewStoreAsync() => Task.FromResult(TestStore.NewSqlite());

    /// <summary>SQLite has one writer: a transaction of the test that holds the write lock makes the journal's next
    /// write wait for it (readers go on).</summary>
    protected override async Task<Func<Task>> HoldWriteAsync(TestStore store, string persistenceId, long sequenceNr)
    {
        var connection = new SqliteConnection(store.ConnectionString);
        await connection.OpenAsync();
        var transaction = connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: takes the write lock now
        return async () =>
        {
            await transaction.RollbackAsync();
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        };
    }
}

public sealed class PostgreSqlSnapshotGroupCommitSpec : SnapshotGroupCommitSpec
{
    protected override Task<TestStore> NewStoreAsync() => PrivateDatabase.CreateAsync();

    /// <summary>A row of the same (persistence id, sequence number) in an open transaction of the test: the journal's
    /// insert waits on the unique index until it is rolled back.</summary>
    protected override async Task<Func<Task>> HoldWriteAsync(TestStore store, string persistenceId, long sequenceNr)
    {
        var held = await HeldJournalRow.BeginAsync(store, persistenceId, sequenceNr);
        return async () => await held.DisposeAsync();
    }
}
