using System.Data.Common;
using Akka.Event;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Hosting;
using Akka.Persistence;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// Snapshot retention reaches its target even when deletes overlap or fail: the store refuses (or stalls) every
/// delete of one aggregate while several snapshots are taken, then lets them through; the entity must get to
/// "newest two snapshots, events up to the oldest of them gone" without another snapshot or command.
/// Each test runs on a database of its own (a fresh SQLite file, a fresh PostgreSQL database), since it installs
/// triggers on the journal and snapshot tables.
/// </summary>
public abstract class RetentionSpec
{
    /// <summary>A store on a database no other test uses.</summary>
    protected abstract Task<TestStore> NewPrivateStoreAsync();

    private static string NewId() => $"ret-{Guid.NewGuid():N}";

    private static void Retention(AggregateOptions a)
    {
        a.SnapshotEvery = 10;
        a.KeepSnapshots = 2;
        a.DeleteEventsOnSnapshot = true;
    }

    [Fact]
    public async Task Retention_reaches_its_target_after_deletes_that_overlapped_and_failed()
    {
        var store = await NewPrivateStoreAsync();
        await using var node = await NodeHost.StartAsync(store, aggregate: Retention);
        var id = NewId();
        var pid = PersistenceIds.For("Ledger", id);
        var warnings = new TestProbe(node.System, new XunitAssertions());
        node.System.EventStream.Subscribe(warnings.Ref, typeof(Warning));

        await node.Ledger.SendAsync(id, new Open("grace"));
        for (var i = 2; i <= 10; i++) await node.Ledger.SendAsync(id, new Deposit(1m));
        await WaitForNewestSnapshotAsync(node, id, 10); // the tables exist now

        await using var db = await StoreDb.OpenAsync(store);
        await db.BlockDeletesAsync(pid);
        // Snapshots at 20 and 30 ask for two event deletes (up to 10, then up to 20) and one snapshot delete (10);
        // every one of them is refused while the block stands.
        for (var i = 11; i <= 35; i++) await node.Ledger.SendAsync(id, new Deposit(1m));
        await WaitForNewestSnapshotAsync(node, id, 30);
        await FishWarningAsync(warnings, pid, "events");
        await FishWarningAsync(warnings, pid, "snapshots");

        await db.UnblockAsync();
        await AssertRetainedAsync(node, id);
    }

    [Fact]
    public async Task Retention_is_complete_when_deletes_are_slower_than_the_snapshots_that_ask_for_them()
    {
        var store = await NewPrivateStoreAsync();
        await using var node = await NodeHost.StartAsync(store, aggregate: Retention);
        var id = NewId();
        var pid = PersistenceIds.For("Ledger", id);

        await node.Ledger.SendAsync(id, new Open("grace"));
        for (var i = 2; i <= 10; i++) await node.Ledger.SendAsync(id, new Deposit(1m));
        await WaitForNewestSnapshotAsync(node, id, 10);

        await using var db = await StoreDb.OpenAsync(store);
        // Each delete now waits until the test lets it go, so later snapshots ask for more while it is in flight.
        await db.StallDeletesAsync(pid);
        for (var i = 11; i <= 35; i++) await node.Ledger.SendAsync(id, new Deposit(1m));
        await WaitForNewestSnapshotAsync(node, id, 30);
        await db.ReleaseStallAsync();
        await AssertRetainedAsync(node, id);
    }

    /// <summary>Snapshots at 10, 20, 30; keep 2 -> 20 and 30 remain; events up to 20 (covered by the oldest kept) go.</summary>
    private static async Task AssertRetainedAsync(NodeHost node, string id)
    {
        await TestWait.UntilAsync(async () =>
        {
            var history = await node.Ledger.GetHistoryAsync(id);
            Assert.Equal(Enumerable.Range(21, 15).Select(v => (long)v), history.Select(e => e.SequenceNr));
            Assert.Null(await LoadSnapshotAsync(node, id, 19));
            Assert.Equal(20, (await LoadSnapshotAsync(node, id, 29))?.Metadata.SequenceNr);
            Assert.Equal(30, (await LoadSnapshotAsync(node, id, long.MaxValue))?.Metadata.SequenceNr);
        }, TimeSpan.FromSeconds(30));
        Assert.Equal(34m, (await node.Ledger.GetStateAsync(id)).State.Balance);
    }

    private static async Task FishWarningAsync(TestProbe warnings, string pid, string what) =>
        await warnings.FishForMessageAsync<Warning>(
            w => w.Message?.ToString() is { } text && text.Contains(pid) && text.Contains(what) && text.Contains("failed"),
            TimeSpan.FromSeconds(30));

    private static Task<SelectedSnapshot?> LoadSnapshotAsync(NodeHost node, string id, long maxSequenceNr) =>
        AggregateContractSpec.LoadSnapshotAsync(node, id, maxSequenceNr);

    private static Task WaitForNewestSnapshotAsync(NodeHost node, string id, long sequenceNr) =>
        TestWait.UntilAsync(async () =>
            Assert.Equal(sequenceNr, (await LoadSnapshotAsync(node, id, long.MaxValue))?.Metadata.SequenceNr),
            TimeSpan.FromSeconds(30));

    /// <summary>Test-side access to the store's tables: triggers that refuse or stall one aggregate's deletes.</summary>
    private sealed class StoreDb : IAsyncDisposable
    {
        private readonly TestStore _store;
        private readonly DbConnection _connection;
        private NpgsqlTransaction? _stall; // PostgreSQL: holds the row lock every stalled delete waits for

        private StoreDb(TestStore store, DbConnection connection) => (_store, _connection) = (store, connection);

        private bool Pg => _store.Provider == StoreProvider.PostgreSql;

        public static async Task<StoreDb> OpenAsync(TestStore store)
        {
            DbConnection connection = store.Provider == StoreProvider.PostgreSql
                ? new NpgsqlConnection(StoreSettings.NormalizeConnectionString(store.Provider, store.ConnectionString))
                : new SqliteConnection(store.ConnectionString);
            await connection.OpenAsync();
            return new StoreDb(store, connection);
        }

        private async Task ExecAsync(string sql)
        {
            await using var command = _connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync();
        }

        private async Task<string> SnapshotTableAsync()
        {
            await using var command = _connection.CreateCommand();
            command.CommandText = Pg
                ? "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'snapshot%'"
                : "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'snapshot%'";
            return (string)(await command.ExecuteScalarAsync() ?? throw new InvalidOperationException("no snapshot table"));
        }

        /// <summary>Every delete (and the plugin's mark-as-deleted update) of <paramref name="pid"/>'s events and
        /// snapshots fails until <see cref="UnblockAsync"/>.</summary>
        public async Task BlockDeletesAsync(string pid)
        {
            var snapshots = await SnapshotTableAsync();
            await ExecAsync("CREATE TABLE retention_block (persistence_id TEXT PRIMARY KEY)");
            if (Pg)
            {
                await ExecAsync("""
                    CREATE FUNCTION retention_block_fn() RETURNS trigger AS $$
                    BEGIN
                      IF EXISTS (SELECT 1 FROM retention_block b WHERE b.persistence_id = OLD.persistence_id) THEN
                        RAISE EXCEPTION 'retention blocked by the test for %', OLD.persistence_id;
                      END IF;
                      IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                      RETURN NEW;
                    END $$ LANGUAGE plpgsql
                    """);
                await ExecAsync("CREATE TRIGGER retention_block_journal BEFORE DELETE OR UPDATE ON event_journal FOR EACH ROW EXECUTE FUNCTION retention_block_fn()");
                await ExecAsync($"CREATE TRIGGER retention_block_snapshots BEFORE DELETE ON {snapshots} FOR EACH ROW EXECUTE FUNCTION retention_block_fn()");
            }
            else
            {
                const string when = "WHEN EXISTS (SELECT 1 FROM retention_block b WHERE b.persistence_id = OLD.persistence_id)";
                const string raise = "BEGIN SELECT RAISE(ABORT, 'retention blocked by the test'); END";
                await ExecAsync($"CREATE TRIGGER retention_block_journal_d BEFORE DELETE ON event_journal {when} {raise}");
                await ExecAsync($"CREATE TRIGGER retention_block_journal_u BEFORE UPDATE ON event_journal {when} {raise}");
                await ExecAsync($"CREATE TRIGGER retention_block_snapshots BEFORE DELETE ON {snapshots} {when} {raise}");
            }
            await ExecAsync($"INSERT INTO retention_block VALUES ('{pid}')");
        }

        public Task UnblockAsync() => ExecAsync("DELETE FROM retention_block");

        /// <summary>Every delete of <paramref name="pid"/>'s events and snapshots waits until
        /// <see cref="ReleaseStallAsync"/>: on PostgreSQL a transaction of the test holds their rows; SQLite has one
        /// writer, so there the test holds the write lock only while no event write is due (the snapshot store and
        /// journal then queue behind it like any other writer).</summary>
        public async Task StallDeletesAsync(string pid)
        {
            if (!Pg)
            {
                // SQLite has no row locks and one writer: a held write lock would stall the commands too. Stall
                // with a trigger that fails the delete until released instead: the entity sees it as slow and
                // failing, which is the same overlap from its side.
                await BlockDeletesAsync(pid);
                return;
            }
            var snapshots = await SnapshotTableAsync();
            _stall = await ((NpgsqlConnection)_connection).BeginTransactionAsync();
            await using var command = ((NpgsqlConnection)_connection).CreateCommand();
            command.Transaction = _stall;
            // Locks the rows retention will delete; the writes of new events (inserts) are not blocked.
            command.CommandText = $"""
                SELECT 1 FROM event_journal WHERE persistence_id = @p FOR UPDATE;
                SELECT 1 FROM {snapshots} WHERE persistence_id = @p FOR UPDATE;
                """;
            command.Parameters.AddWithValue("p", pid);
            await command.ExecuteNonQueryAsync();
        }

        public async Task ReleaseStallAsync()
        {
            if (_stall is null)
            {
                await UnblockAsync();
                return;
            }
            await _stall.CommitAsync();
            _stall = null;
        }

        public async ValueTask DisposeAsync()
        {
            if (_stall is not null) await _stall.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }
}

public sealed class SqliteRetentionSpec : RetentionSpec
{
    protected override Task<TestStore> NewPrivateStoreAsync() => Task.FromResult(TestStore.NewSqlite());
}

public sealed class SqlitePluginJournalRetentionSpec : RetentionSpec
{
    protected override Task<TestStore> NewPrivateStoreAsync() =>
        Task.FromResult(TestStore.NewSqlite() with { Journal = "akka-persistence-sql" });
}

public sealed class PostgreSqlRetentionSpec : RetentionSpec
{
    protected override Task<TestStore> NewPrivateStoreAsync() => PrivateDatabase.CreateAsync();
}

public sealed class PostgreSqlPluginJournalRetentionSpec : RetentionSpec
{
    protected override async Task<TestStore> NewPrivateStoreAsync() =>
        await PrivateDatabase.CreateAsync() with { Journal = "akka-persistence-sql" };
}
