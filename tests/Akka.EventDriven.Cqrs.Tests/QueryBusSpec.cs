using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Cqrs.Tests;

public abstract class QueryBusSpec
{
    protected abstract TestStore NewStore();

    private sealed record Balance(string Id);

    [Fact]
    public async Task A_cached_result_is_served_until_an_event_of_its_aggregate_is_projected_then_recomputed()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = $"q-{Guid.NewGuid():N}";
        var other = $"q-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("q"));
        await node.Ledger.SendAsync(other, new Open("o"));
        var runs = 0;
        await using var bus = new QueryBus(node.System);
        await bus.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(15)); // results are cached once the follower runs
        bus.Register<Balance, decimal>(async (q, ct) => { Interlocked.Increment(ref runs); return (await node.Ledger.GetStateAsync(q.Id, ct)).State.Balance; },
            new QueryCacheOptions<Balance>(TimeSpan.FromMinutes(5), q => [PersistenceIds.For("Ledger", q.Id)]));

        Assert.Equal(0m, await bus.ExecuteAsync<decimal>(new Balance(id)));
        Assert.Equal(0m, await bus.ExecuteAsync<decimal>(new Balance(id)));
        Assert.Equal(1, runs);

        await node.Ledger.SendAsync(other, new Deposit(1m));
        await bus.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(0m, await bus.ExecuteAsync<decimal>(new Balance(id))); // another aggregate's event: still cached
        Assert.Equal(1, runs);

        await node.Ledger.SendAsync(id, new Deposit(7m));
        await bus.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(7m, await bus.ExecuteAsync<decimal>(new Balance(id))); // invalidated, recomputed
        Assert.Equal(2, runs);
        Assert.Equal(7m, await bus.ExecuteAsync<decimal>(new Balance(id)));
        Assert.Equal(2, runs);

        // The live-only follower's offset row goes away with the bus (no row per node start piles up).
        async Task<long> Rows()
        {
            var store = Akka.EventDriven.Storage.StoreSettings.FromConfig(node.System.Settings.Config);
            await using var connection = store.CreateConnection();
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM projection_offsets WHERE projection_name = 'query-cache' AND projection_key = '{bus.InvalidatorId.Key}'";
            return Convert.ToInt64(await command.ExecuteScalarAsync());
        }
        Assert.Equal(1, await Rows());
        await bus.DisposeAsync();
        Assert.Equal(0, await Rows());
    }

    [Fact]
    public async Task A_result_computed_before_an_invalidation_that_arrived_while_its_handler_ran_is_not_cached()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = $"q-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("q"));
        var runs = 0;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var bus = new QueryBus(node.System);
        await bus.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(15));
        bus.Register<Balance, decimal>(async (q, ct) =>
            {
                var balance = (await node.Ledger.GetStateAsync(q.Id, ct)).State.Balance;
                if (Interlocked.Increment(ref runs) == 1)
                {
                    entered.SetResult();
                    await release.Task; // the state was read; an event lands before the result is returned
                }
                return balance;
            },
            new QueryCacheOptions<Balance>(TimeSpan.FromMinutes(5), q => [PersistenceIds.For("Ledger", q.Id)]));

        var first = bus.ExecuteAsync<decimal>(new Balance(id));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await node.Ledger.SendAsync(id, new Deposit(7m));
        await bus.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(15)); // the invalidation was applied while the handler ran
        release.SetResult();
        Assert.Equal(0m, await first); // the caller of the running query gets what it computed

        Assert.Equal(7m, await bus.ExecuteAsync<decimal>(new Balance(id))); // not the stale 0 from the cache
        Assert.Equal(2, runs);
        Assert.Equal(7m, await bus.ExecuteAsync<decimal>(new Balance(id)));
        Assert.Equal(2, runs); // a result computed without an invalidation meanwhile is cached

        // An invalidation of another aggregate while a handler runs does not keep its result out of the cache.
        var other = $"q-{Guid.NewGuid():N}";
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var otherRuns = 0;
        bus.Register<ByTag, int>(async (_, _) =>
        {
            var n = Interlocked.Increment(ref otherRuns);
            slowEntered.TrySetResult();
            await slow.Task;
            return n;
        }, new QueryCacheOptions<ByTag>(TimeSpan.FromMinutes(5), q => [PersistenceIds.For("Ledger", q.Tag)]));
        var pending = bus.ExecuteAsync<int>(new ByTag(other));
        await slowEntered.Task.WaitAsync(TimeSpan.FromSeconds(15));
        bus.Invalidate(PersistenceIds.For("Ledger", id));
        slow.SetResult();
        Assert.Equal(1, await pending);
        Assert.Equal(1, await bus.ExecuteAsync<int>(new ByTag(other)));
    }

    [Fact]
    public async Task Disposing_a_query_bus_keeps_the_offset_rows_of_other_live_followers_and_removes_stale_ones()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var store = Akka.EventDriven.Storage.StoreSettings.FromConfig(node.System.Settings.Config);
        async Task<long> Scalar(string sql, params (string Name, object Value)[] parameters)
        {
            await using var connection = store.CreateConnection();
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters) command.AddParameter(name, value);
            return Convert.ToInt64(await command.ExecuteScalarAsync());
        }
        Task<long> Rows(string key) => Scalar(
            "SELECT COUNT(*) FROM projection_offsets WHERE projection_name = 'query-cache' AND projection_key = @k", ("k", key));

        await using var live = new QueryBus(node.System);
        await live.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(15));
        await TestWait.UntilAsync(async () => Assert.Equal(1, await Rows(live.InvalidatorId.Key)));
        // A follower that has not stored an offset yet (an idle node): its row still carries updated_at = 0.
        await Scalar("UPDATE projection_offsets SET updated_at = 0 WHERE projection_name = 'query-cache' AND projection_key = @k",
            ("k", live.InvalidatorId.Key));
        // A follower of a node that died long ago without removing its row.
        var dead = $"dead-{Guid.NewGuid():N}";
        await Scalar("INSERT INTO projection_offsets (projection_name, projection_key, current_offset, updated_at) VALUES ('query-cache', @k, 1, @t)",
            ("k", dead), ("t", DateTime.UtcNow.AddDays(-3).Ticks));

        var leaving = new QueryBus(node.System);
        await leaving.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(15));
        await leaving.DisposeAsync();

        Assert.Equal(0, await Rows(leaving.InvalidatorId.Key));
        Assert.Equal(1, await Rows(live.InvalidatorId.Key)); // the live follower keeps its place in the journal
        Assert.Equal(0, await Rows(dead));
    }

    private sealed record ByTag(string Tag);

    [Fact]
    public async Task A_cached_result_declared_stale_by_a_tag_is_recomputed_when_an_event_with_that_tag_is_projected()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var runs = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        await using var bus = new QueryBus(node.System);
        await bus.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(15));
        bus.Register<ByTag, int>((q, _) => Task.FromResult(runs.AddOrUpdate(q.Tag, 1, (_, n) => n + 1)),
            new QueryCacheOptions<ByTag>(TimeSpan.FromMinutes(5), InvalidatedByTags: q => [q.Tag]));

        Assert.Equal(1, await bus.ExecuteAsync<int>(new ByTag("Ledger")));        // every Ledger event carries this tag
        Assert.Equal(1, await bus.ExecuteAsync<int>(new ByTag("Investigation")));
        Assert.Equal(1, await bus.ExecuteAsync<int>(new ByTag("Ledger")));        // cached

        await node.Ledger.SendAsync($"t-{Guid.NewGuid():N}", new Open("t"));
        await bus.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(2, await bus.ExecuteAsync<int>(new ByTag("Ledger")));        // invalidated by the tag, recomputed
        Assert.Equal(1, await bus.ExecuteAsync<int>(new ByTag("Investigation"))); // another tag: still cached
    }

    [Fact]
    public async Task The_cache_honours_its_ttl_and_its_capacity()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var runs = 0;
        await using var bus = new QueryBus(node.System, capacity: 3, invalidateFromJournal: false);
        bus.Register<Balance, int>((_, _) => Task.FromResult(Interlocked.Increment(ref runs)), new QueryCacheOptions<Balance>(TimeSpan.FromMilliseconds(200)));

        var first = await bus.ExecuteAsync<int>(new Balance("a"));
        Assert.Equal(first, await bus.ExecuteAsync<int>(new Balance("a")));
        await TestWait.UntilAsync(async () => Assert.NotEqual(first, await bus.ExecuteAsync<int>(new Balance("a"))));
        for (var i = 0; i < 10; i++) await bus.ExecuteAsync<int>(new Balance($"k{i}"));
        Assert.InRange(bus.CachedCount, 1, 3);
        await Assert.ThrowsAsync<InvalidOperationException>(() => bus.ExecuteAsync<int>("not a registered query"));
    }
}

public sealed class SqliteQueryBusSpec : QueryBusSpec
{
    protected override TestStore NewStore() => TestStore.NewSqlite();
}

public sealed class PostgreSqlQueryBusSpec : QueryBusSpec
{
    protected override TestStore NewStore() => TestStore.PostgreSql();

    private sealed record Balance(string Id);

    /// <summary>PostgreSQL only: a test transaction holds the follower's set-up back (the advisory lock of the journal
    /// schema), which SQLite's single writer cannot do without also holding back the journal write.</summary>
    [Fact]
    public async Task A_result_computed_before_the_journal_follower_is_set_up_is_not_cached()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        await using (var warmUp = new QueryBus(node.System)) await warmUp.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(15)); // the table exists
        var id = $"q-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("q"));
        var store = Akka.EventDriven.Storage.StoreSettings.FromConfig(node.System.Settings.Config);
        await using var connection = store.CreateConnection();
        await connection.OpenAsync();
        var hold = await connection.BeginTransactionAsync();
        await using (var lockTable = connection.CreateCommand())
        {
            lockTable.Transaction = hold;
            lockTable.CommandText = "SELECT pg_advisory_xact_lock(7415533)"; // the journal schema lock the follower's set-up takes
            await lockTable.ExecuteNonQueryAsync();
        }

        await using var bus = new QueryBus(node.System);
        var runs = 0;
        bus.Register<Balance, decimal>(async (q, ct) => { Interlocked.Increment(ref runs); return (await node.Ledger.GetStateAsync(q.Id, ct)).State.Balance; },
            new QueryCacheOptions<Balance>(TimeSpan.FromMinutes(5), q => [PersistenceIds.For("Ledger", q.Id)]));
        Assert.Equal(0m, await bus.ExecuteAsync<decimal>(new Balance(id)));
        await node.Ledger.SendAsync(id, new Deposit(7m)); // before the follower fixed its start: it will never see it
        await hold.RollbackAsync();
        await bus.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(7m, await bus.ExecuteAsync<decimal>(new Balance(id)));
        Assert.Equal(2, runs);
        Assert.Equal(7m, await bus.ExecuteAsync<decimal>(new Balance(id)));
        Assert.Equal(2, runs); // cached now that the follower runs
    }
}
