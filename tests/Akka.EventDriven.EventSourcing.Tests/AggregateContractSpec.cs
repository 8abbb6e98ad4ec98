using Akka.Actor;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Serialization;
using Akka.Persistence;
using Akka.TestKit;
using Akka.TestKit.Xunit2;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// The aggregate contract: every store adapter (SQLite, PostgreSQL) inherits this suite and must pass all of it.
/// Each test uses its own aggregate ids, so tests sharing one database never see each other's events.
/// </summary>
public abstract class AggregateContractSpec
{
    protected abstract TestStore NewStore();

    private static string NewId() => $"acc-{Guid.NewGuid():N}";

    [Fact]
    public async Task Accepted_command_persists_its_events_and_returns_the_new_version()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = NewId();
        var opened = await node.Ledger.SendAsync(id, new Open("alice"));
        var deposited = await node.Ledger.SendAsync(id, new Deposit(25m));

        var accepted = Assert.IsType<CommandAccepted>(deposited);
        Assert.Equal(1, opened.Version);
        Assert.Equal(2, accepted.Version);
        Assert.Equal(new Deposited(25m), Assert.Single(accepted.Events));
        var state = await node.Ledger.GetStateAsync(id);
        Assert.Equal(new LedgerState("alice", 25m, 2), state.State);
        Assert.Equal(2, (await node.Ledger.GetHistoryAsync(id)).Count);
    }

    [Fact]
    public async Task Rejected_command_persists_nothing_and_gives_the_reason()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = NewId();
        await node.Ledger.SendAsync(id, new Open("bob"));
        var result = await node.Ledger.SendAsync(id, new Withdraw(10m));

        var rejected = Assert.IsType<CommandRejected>(result);
        Assert.Contains("Insufficient funds", rejected.Reason);
        Assert.Equal(1, rejected.Version);
        Assert.Single(await node.Ledger.GetHistoryAsync(id));
        Assert.Equal(1, (await node.Ledger.GetStateAsync(id)).Version);
    }

    [Fact]
    public async Task Expected_version_mismatch_is_rejected_with_both_versions_and_persists_nothing()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = NewId();
        await node.Ledger.SendAsync(id, new Open("carol"), new CommandOptions { ExpectedVersion = 0 });
        await node.Ledger.SendAsync(id, new Deposit(5m), new CommandOptions { ExpectedVersion = 1 });

        var result = await node.Ledger.SendAsync(id, new Deposit(7m), new CommandOptions { ExpectedVersion = 1 });

        var rejected = Assert.IsType<CommandRejected>(result);
        Assert.Contains("Expected version 1", rejected.Reason);
        Assert.Contains("at version 2", rejected.Reason);
        Assert.Equal(2, (await node.Ledger.GetHistoryAsync(id)).Count);
        Assert.Equal(5m, (await node.Ledger.GetStateAsync(id)).State.Balance);
    }

    [Fact]
    public async Task Pipelined_commands_are_each_decided_against_every_earlier_accepted_event()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = NewId();
        await node.Ledger.SendAsync(id, new Open("dave"));
        await node.Ledger.SendAsync(id, new Deposit(10m));

        // 20 withdrawals of 1 sent without waiting, straight to the region with a probe as sender:
        // exactly 10 fit the balance, whatever write batches they end up in.
        var probe = new TestProbe(node.System, new XunitAssertions());
        for (var i = 0; i < 20; i++)
            node.Ledger.Region.Tell(new AggregateCommand(id, new Withdraw(1m)), probe.Ref);
        var results = Enumerable.Range(0, 20).Select(_ => probe.ExpectMsg<CommandResult>(TimeSpan.FromSeconds(15))).ToList();

        var accepted = results.OfType<CommandAccepted>().ToList();
        Assert.Equal(10, accepted.Count);
        Assert.Equal(Enumerable.Range(3, 10).Select(v => (long)v), accepted.Select(a => a.Version));
        Assert.All(results.Skip(10), r => Assert.IsType<CommandRejected>(r));
        var state = await node.Ledger.GetStateAsync(id);
        Assert.Equal(0m, state.State.Balance);
        Assert.Equal(12, state.Version);
    }

    [Fact]
    public async Task State_is_recovered_after_the_actor_system_restarts()
    {
        var store = NewStore();
        var id = NewId();
        await using (var node = await NodeHost.StartAsync(store))
        {
            await node.Ledger.SendAsync(id, new Open("erin"));
            for (var i = 1; i <= 7; i++) await node.Ledger.SendAsync(id, new Deposit(i));
            await node.Ledger.SendAsync(id, new Withdraw(3m));
        }

        await using var restarted = await NodeHost.StartAsync(store);
        var state = await restarted.Ledger.GetStateAsync(id);
        Assert.Equal(9, state.Version);
        Assert.Equal(new LedgerState("erin", 25m, 9), state.State);
        var next = await restarted.Ledger.SendAsync(id, new Deposit(1m));
        Assert.Equal(10, next.Version);
    }

    [Fact]
    public async Task Recovery_starts_from_the_latest_snapshot_and_replays_only_later_events()
    {
        var store = NewStore();
        var id = NewId();
        await using (var node = await NodeHost.StartAsync(store, aggregate: a => a.SnapshotEvery = 10))
        {
            await node.Ledger.SendAsync(id, new Open("frank"));
            for (var i = 2; i <= 25; i++) await node.Ledger.SendAsync(id, new Deposit(1m));
            await WaitForSnapshotAsync(node, id, 20);
        }

        await using var restarted = await NodeHost.StartAsync(store, aggregate: a => a.SnapshotEvery = 10);
        var state = await restarted.Ledger.GetStateAsync(id);
        Assert.Equal(25, state.Version);
        Assert.Equal(24m, state.State.Balance);
        Assert.Equal(new RecoveryStats(20, 5), state.Recovery);
    }

    [Fact]
    public async Task Retention_keeps_the_last_snapshots_and_deletes_only_the_events_they_cover()
    {
        await using var node = await NodeHost.StartAsync(NewStore(), aggregate: a =>
        {
            a.SnapshotEvery = 10;
            a.KeepSnapshots = 2;
            a.DeleteEventsOnSnapshot = true;
        });
        var id = NewId();
        await node.Ledger.SendAsync(id, new Open("grace"));
        for (var i = 2; i <= 35; i++) await node.Ledger.SendAsync(id, new Deposit(1m));

        // Snapshots at 10, 20, 30; keep 2 -> 20 and 30 remain; events up to 20 (covered by the oldest kept) go.
        await TestWait.UntilAsync(async () =>
        {
            var history = await node.Ledger.GetHistoryAsync(id);
            Assert.Equal(Enumerable.Range(21, 15).Select(v => (long)v), history.Select(e => e.SequenceNr));
            Assert.Null(await LoadSnapshotAsync(node, id, 19));
            Assert.Equal(20, (await LoadSnapshotAsync(node, id, 29))?.Metadata.SequenceNr);
            Assert.Equal(30, (await LoadSnapshotAsync(node, id, long.MaxValue))?.Metadata.SequenceNr);
        });
        Assert.Equal(34m, (await node.Ledger.GetStateAsync(id)).State.Balance);
        Assert.Equal(22m, (await node.Ledger.GetStateAtAsync(id, 23)).State.Balance);
        var gone = await Assert.ThrowsAsync<InvalidOperationException>(() => node.Ledger.GetStateAtAsync(id, 15));
        Assert.Contains("no longer stored", gone.Message);
    }

    [Fact]
    public async Task An_event_stored_in_an_old_version_is_upcast_when_read()
    {
        var store = NewStore();
        var id = NewId();
        await using (var old = await NodeHost.StartAsync(store, LedgerTypes.Legacy()))
        {
            await old.Ledger.SendAsync(id, new Open("heidi"));
            await old.Ledger.SendAsync(id, new LegacyDeposit(1250)); // stored as ledger.deposited.v1 {"cents":1250}
        }

        await using var current = await NodeHost.StartAsync(store, LedgerTypes.Current());
        var state = await current.Ledger.GetStateAsync(id);
        Assert.Equal(12.50m, state.State.Balance);
        var history = await current.Ledger.GetHistoryAsync(id);
        Assert.Equal("ledger.deposited.v1", history[1].TypeName);
        Assert.Equal(new Deposited(12.50m), history[1].Event);
    }

    [Fact]
    public async Task An_unknown_event_type_fails_recovery_with_an_error_naming_the_type()
    {
        var store = NewStore();
        var id = NewId();
        await using (var node = await NodeHost.StartAsync(store))
        {
            await node.Ledger.SendAsync(id, new Open("ivan"));
            await node.Ledger.SendAsync(id, new Audit("checked"));
        }

        await using var without = await NodeHost.StartAsync(store, LedgerTypes.Current(withAudit: false));
        var failure = await Assert.ThrowsAsync<AggregateFailedException>(() => without.Ledger.SendAsync(id, new Deposit(1m)));
        Assert.Contains("ledger.audited.v1", failure.Message);
        Assert.Contains("Recovery", failure.Message);
        var again = await Assert.ThrowsAsync<AggregateFailedException>(() => without.Ledger.GetStateAsync(id));
        Assert.Contains("ledger.audited.v1", again.Message);
    }

    [Fact]
    public async Task History_lists_every_event_with_sequence_timestamp_type_name_and_metadata()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = NewId();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var meta = new CommandOptions
        {
            CorrelationId = "corr-1", CausationId = "cause-1",
            Headers = new Dictionary<string, string> { ["user"] = "analyst-7" },
        };
        await node.Ledger.SendAsync(id, new Open("judy"), meta);
        await node.Ledger.SendAsync(id, new Deposit(3m), meta with { CausationId = "cause-2" });
        await node.Ledger.SendAsync(id, new Withdraw(1m));

        var history = await node.Ledger.GetHistoryAsync(id);
        Assert.Equal([1L, 2L, 3L], history.Select(e => e.SequenceNr));
        Assert.Equal(["ledger.opened.v1", "ledger.deposited.v2", "ledger.withdrawn.v1"], history.Select(e => e.TypeName));
        Assert.Equal(new Deposited(3m), history[1].Event);
        Assert.Equal("corr-1", history[0].Metadata.CorrelationId);
        Assert.Equal("cause-2", history[1].Metadata.CausationId);
        Assert.Equal("analyst-7", history[1].Metadata.Headers!["user"]);
        Assert.Null(history[2].Metadata.CorrelationId);
        Assert.All(history, e => Assert.InRange(e.Metadata.Timestamp, before, DateTimeOffset.UtcNow.AddSeconds(1)));

        Assert.Equal(new LedgerState("judy", 3m, 2), (await node.Ledger.GetStateAtAsync(id, 2)).State);
        Assert.Equal(new LedgerState(null, 0m, 0), (await node.Ledger.GetStateAtAsync(id, 0)).State);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => node.Ledger.GetStateAtAsync(id, 4));
    }

    [Fact]
    public async Task An_idle_entity_is_passivated_and_recovers_from_storage_on_the_next_command()
    {
        await using var node = await NodeHost.StartAsync(NewStore(), aggregate: a => a.PassivateIdleAfter = TimeSpan.FromMilliseconds(500));
        var id = NewId();
        await node.Ledger.SendAsync(id, new Open("liam"));
        Assert.IsType<CommandAccepted>(await node.Ledger.SendAsync(id, new Deposit(2m)));

        await TestWait.UntilAsync(async () =>
        {
            var region = await node.Ledger.Region.Ask<Akka.Cluster.Sharding.CurrentShardRegionState>(
                Akka.Cluster.Sharding.GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
            Assert.DoesNotContain(region.Shards, s => s.EntityIds.Contains(id));
        });

        var state = await node.Ledger.GetStateAsync(id);
        Assert.Equal(new RecoveryStats(null, 2), state.Recovery);
        Assert.Equal(2m, state.State.Balance);
    }

    [Fact]
    public async Task Bad_input_is_refused_before_anything_is_sent()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        await Assert.ThrowsAsync<ArgumentException>(() => node.Ledger.SendAsync(" ", new Open("x")));
        await Assert.ThrowsAsync<ArgumentException>(() => node.Ledger.SendAsync(new string('a', 300), new Open("x")));
        var unregistered = await Assert.ThrowsAsync<UnregisteredMessageTypeException>(
            () => node.Ledger.SendAsync(NewId(), new UnregisteredCommand()));
        Assert.Contains(nameof(UnregisteredCommand), unregistered.Message);
    }

    private sealed record UnregisteredCommand;

    [Fact]
    public async Task Many_aggregates_recovering_at_once_each_get_exactly_their_own_state_and_carry_on_at_the_right_version()
    {
        // Recoveries are coalesced (many aggregates' snapshots and events read by one query): each must still get its
        // own snapshot, only its own later events, and the right highest sequence number, including an aggregate whose
        // covered events retention deleted, one with only a snapshot's worth of events and one never written.
        var store = NewStore();
        void Options(Akka.EventDriven.Hosting.AggregateOptions a)
        {
            a.SnapshotEvery = 5;
            a.KeepSnapshots = 1;
            a.DeleteEventsOnSnapshot = true;
        }
        var ids = Enumerable.Range(0, 120).Select(_ => NewId()).ToArray();
        int Deposits(int i) => i % 13; // 0..12 deposits after the opening: snapshots at 5 and 10 for some
        await using (var node = await NodeHost.StartAsync(store, aggregate: Options))
        {
            await Task.WhenAll(ids.Select(async (id, i) =>
            {
                if (i % 10 == 9) return; // never written
                await node.Ledger.SendAsync(id, new Open($"o{i}"));
                for (var d = 1; d <= Deposits(i); d++) await node.Ledger.SendAsync(id, new Deposit(d));
            }));
            // Wait until each aggregate's retention is done (its snapshot saved, the events it covers deleted), so the
            // restart below reads a snapshot and what follows it.
            await TestWait.UntilAsync(async () =>
            {
                foreach (var (id, i) in ids.Select((id, i) => (id, i)))
                {
                    var version = i % 10 == 9 ? 0 : 1 + Deposits(i);
                    var snapshotAt = version / 5 * 5;
                    if (snapshotAt == 0) continue;
                    Assert.Equal(snapshotAt, (await LoadSnapshotAsync(node, id, long.MaxValue))?.Metadata.SequenceNr);
                    Assert.Equal(version - snapshotAt, (await node.Ledger.GetHistoryAsync(id)).Count(e => e.SequenceNr > snapshotAt));
                }
            });
        }

        var system = $"recovery{Guid.NewGuid():N}";
        using var batches = new RecoveryBatchListener(system);
        await using var restarted = await NodeHost.StartAsync(store, aggregate: Options, systemName: system);
        var states = await Task.WhenAll(ids.Select(id => restarted.Ledger.GetStateAsync(id)));
        for (var i = 0; i < ids.Length; i++)
        {
            var written = i % 10 != 9;
            var version = written ? 1 + Deposits(i) : 0;
            var snapshotAt = version / 5 * 5;
            Assert.Equal(version, states[i].Version);
            Assert.Equal(written ? new LedgerState($"o{i}", Enumerable.Range(1, Deposits(i)).Sum(), version) : new LedgerState(null, 0m, 0),
                states[i].State);
            Assert.Equal(new RecoveryStats(snapshotAt == 0 ? null : snapshotAt, version - snapshotAt), states[i].Recovery);
        }
        // Every load went through the coalesced reads (on the batched journal, one read for the snapshot and the events;
        // Akka.Persistence.Sql's journal reads each aggregate's events by itself, after the snapshot loader's read); the
        // node's start-up warm-up recovers one more id, more if refused.
        // On PostgreSQL, where a read is a round trip, the burst shared queries. (SQLite answers in-process, often before
        // the next load arrives, so one load per read is fine there.)
        // The batched journal reads each load's snapshot with its events, so the snapshot store is not asked (but by
        // the warm-up's probe of the snapshot store, one id per attempt).
        string[] kinds = store.Journal is null ? ["journal"] : ["snapshot"];
        if (store.Journal is null) Assert.InRange(batches.Aggregates("snapshot"), 0, 5);
        foreach (var kind in kinds)
        {
            Assert.InRange(batches.Aggregates(kind), ids.Length, ids.Length + 5);
            if (store.Provider == StoreProvider.PostgreSql)
                Assert.True(batches.Queries(kind) < ids.Length, $"{batches.Queries(kind)} {kind} reads for {ids.Length} recoveries");
        }

        // Each carries on at its next sequence number (a wrong highest number would clash or leave a gap).
        var next = await Task.WhenAll(ids.Select((id, i) => restarted.Ledger.SendAsync(id,
            i % 10 == 9 ? new Open("late") : new Deposit(1m))));
        for (var i = 0; i < ids.Length; i++)
            Assert.Equal((i % 10 == 9 ? 0 : 1 + Deposits(i)) + 1, Assert.IsType<CommandAccepted>(next[i]).Version);
    }

    [Fact]
    public async Task A_snapshot_that_cannot_be_read_fails_its_own_aggregate_only_and_its_neighbours_recover()
    {
        // Recoveries are read together (the batched journal reads each one's snapshot with its events): a snapshot
        // whose serializer is unknown must fail its own aggregate's commands with the reason, and nothing else.
        var store = NewStore();
        var bad = NewId();
        var good = Enumerable.Range(0, 8).Select(_ => NewId()).ToArray();
        void Options(Akka.EventDriven.Hosting.AggregateOptions a) => a.SnapshotEvery = 2;
        await using (var node = await NodeHost.StartAsync(store, aggregate: Options))
        {
            foreach (var id in good.Append(bad))
            {
                await node.Ledger.SendAsync(id, new Open("o"));
                await node.Ledger.SendAsync(id, new Deposit(5m));
                await node.Ledger.SendAsync(id, new Deposit(7m));
            }
            foreach (var id in good.Append(bad)) await WaitForSnapshotAsync(node, id, 2);
        }
        var table = store.Provider == StoreProvider.PostgreSql ? "snapshot_store" : "snapshot";
        await using (var connection = new StoreSettings(store.Provider, store.ConnectionString)
                         .Validate().CreateConnection())
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE {table} SET serializer_id = 987654 WHERE persistence_id = '{PersistenceIds.For("Ledger", bad)}'";
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        await using var restarted = await NodeHost.StartAsync(store, aggregate: Options);
        var badState = restarted.Ledger.GetStateAsync(bad);
        var states = await Task.WhenAll(good.Select(id => restarted.Ledger.GetStateAsync(id)));
        foreach (var state in states)
        {
            Assert.Equal(new LedgerState("o", 12m, 3), state.State);
            Assert.Equal(new RecoveryStats(2, 1), state.Recovery);
        }
        var failure = await Assert.ThrowsAsync<AggregateFailedException>(() => badState);
        Assert.Contains("Recovery", failure.Reason);
        Assert.Contains("987654", failure.Reason);
    }

    [Fact]
    public async Task An_event_that_cannot_be_read_fails_its_own_aggregate_only_and_its_neighbours_recover()
    {
        // Recoveries are read together: an event whose type name no longer resolves fails its own aggregate for good
        // (its commands are answered with the reason), and must not fail the aggregates read in the same batch, which
        // would then be failed for good as well (the cause is not a passing one).
        var store = NewStore();
        // The unreadable event must not be left where other specs' projections read the whole journal: on PostgreSQL
        // this spec takes a database of its own (a SQLite store is a file of its own already).
        if (store.Provider == StoreProvider.PostgreSql) store = await PrivateDatabase.CreateAsync() with { Journal = store.Journal };
        var bad = NewId();
        var good = Enumerable.Range(0, 16).Select(_ => NewId()).ToArray();
        await using (var node = await NodeHost.StartAsync(store))
        {
            foreach (var id in good.Append(bad))
            {
                await node.Ledger.SendAsync(id, new Open("o"));
                await node.Ledger.SendAsync(id, new Deposit(5m));
                await node.Ledger.SendAsync(id, new Deposit(7m));
            }
        }
        await using (var connection = new StoreSettings(store.Provider, store.ConnectionString)
                         .Validate().CreateConnection())
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE event_journal SET manifest = 'no-such-event.v1' " +
                                  $"WHERE persistence_id = '{PersistenceIds.For("Ledger", bad)}' AND sequence_nr = 2";
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        await using var restarted = await NodeHost.StartAsync(store);
        // The bad one in the middle, so that it is read in a batch with some of the others.
        var order = good.Take(8).Append(bad).Concat(good.Skip(8)).ToArray();
        var reads = order.Select(id => (Id: id, State: restarted.Ledger.GetStateAsync(id))).ToArray();
        foreach (var (id, read) in reads)
        {
            if (id == bad)
            {
                var failure = await Assert.ThrowsAsync<AggregateFailedException>(() => read);
                Assert.Contains("no-such-event.v1", failure.Reason);
                continue;
            }
            var state = await read;
            Assert.Equal(new LedgerState("o", 12m, 3), state.State);
        }
    }

    [Fact]
    public async Task A_snapshot_an_aggregate_did_not_write_fails_its_recovery_instead_of_skipping_the_events_before_it()
    {
        // A snapshot of another type in an aggregate's stream (written by hand, or by another actor under its id):
        // its state cannot be known, and the events it covers are not replayed, so the aggregate must fail with the
        // reason rather than come back from the later events alone.
        var store = NewStore();
        var id = NewId();
        await using (var node = await NodeHost.StartAsync(store))
        {
            await node.Ledger.SendAsync(id, new Open("o"));
            await node.Ledger.SendAsync(id, new Deposit(5m));
            await node.Ledger.SendAsync(id, new Deposit(7m));
            var snapshots = Persistence.Persistence.Instance.Apply(node.System).SnapshotStoreFor(null);
            var saved = await snapshots.Ask<object>(new SaveSnapshot(new SnapshotMetadata(PersistenceIds.For("Ledger", id), 2, DateTime.UtcNow),
                "not an aggregate snapshot"), TimeSpan.FromSeconds(10));
            Assert.IsType<SaveSnapshotSuccess>(saved);
        }

        await using var restarted = await NodeHost.StartAsync(store);
        var failure = await Assert.ThrowsAsync<AggregateFailedException>(() => restarted.Ledger.GetStateAsync(id));
        Assert.Contains("not an aggregate's snapshot", failure.Reason);
    }

    internal static async Task<SelectedSnapshot?> LoadSnapshotAsync(NodeHost node, string id, long maxSequenceNr)
    {
        var store = Persistence.Persistence.Instance.Apply(node.System).SnapshotStoreFor(null);
        var result = await store.Ask<LoadSnapshotResult>(new LoadSnapshot(PersistenceIds.For("Ledger", id),
            new SnapshotSelectionCriteria(maxSequenceNr), maxSequenceNr), TimeSpan.FromSeconds(10));
        return result.Snapshot;
    }

    private static Task WaitForSnapshotAsync(NodeHost node, string id, long sequenceNr) =>
        TestWait.UntilAsync(async () => Assert.Equal(sequenceNr, (await LoadSnapshotAsync(node, id, long.MaxValue))?.Metadata.SequenceNr));

}

public sealed class SqliteAggregateSpec : AggregateContractSpec
{
    protected override TestStore NewStore() => TestStore.NewSqlite();
}

/// <summary>The same contract on SQLite with Akka.Persistence.Sql's own journal instead of the batched one.</summary>
public sealed class SqlitePluginJournalAggregateSpec : AggregateContractSpec
{
    protected override TestStore NewStore() => TestStore.NewSqlite() with { Journal = "akka-persistence-sql" };
}

public sealed class PostgreSqlAggregateSpec : AggregateContractSpec
{
    protected override TestStore NewStore() => TestStore.PostgreSql();
}

/// <summary>The same contract on PostgreSQL with Akka.Persistence.Sql's own journal instead of the batched one.</summary>
public sealed class PostgreSqlPluginJournalAggregateSpec : AggregateContractSpec
{
    protected override TestStore NewStore() => TestStore.PostgreSql() with { Journal = "akka-persistence-sql" };
}
