using System.Collections.Concurrent;
using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;
using Npgsql;

namespace Akka.EventDriven.Projections.Tests;

/// <summary>A projection hosted with WithProjection runs on one node of a 2-node cluster and moves when it leaves.</summary>
public sealed class HostedProjectionSpec
{
    [Fact]
    public async Task A_hosted_projection_runs_on_one_node_and_continues_on_the_other_when_that_node_leaves()
    {
        var store = TestStore.PostgreSql();
        var cs = StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, store.ConnectionString);
        var table = $"rm_{Guid.NewGuid():N}"[..20];
        await ExecAsync(cs, $"CREATE TABLE {table} (persistence_id text PRIMARY KEY, events bigint NOT NULL)");
        var id = new ProjectionId($"hosted-{table}");
        var runners = new ConcurrentDictionary<string, long>();
        Func<Akka.Actor.ActorSystem, Projection> start = system =>
        {
            var address = Cluster.Cluster.Get(system).SelfAddress.ToString();
            return Projection.ExactlyOnce(system, id, async (batch, tx, ct) =>
            {
                foreach (var e in batch.Where(e => e.PersistenceId.Contains(table)))
                {
                    await using var upsert = new NpgsqlCommand(
                        $"INSERT INTO {table} VALUES ($1, 1) ON CONFLICT (persistence_id) DO UPDATE SET events = {table}.events + 1",
                        (NpgsqlConnection)tx.Connection!, (NpgsqlTransaction)tx);
                    upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.PersistenceId });
                    await upsert.ExecuteNonQueryAsync(ct);
                    runners.AddOrUpdate(address, 1, (_, n) => n + 1);
                }
            }, new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(20), Tag: "Ledger", StartFromEnd: true));
        };

        var port = TestWait.FreePort();
        var seeds = $"akka.cluster.seed-nodes = [\"akka.tcp://edhosted@127.0.0.1:{port}\"]";
        var node1 = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = {port}\n{seeds}", systemName: "edhosted",
            configure: b => b.WithProjection(id, start));
        var node2 = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = 0\n{seeds}", systemName: "edhosted",
            configure: b => b.WithProjection(id, start));
        try
        {
            await TestWait.UntilAsync(async () => Assert.Equal(1L, await ScalarAsync(cs, $"SELECT count(*) FROM projection_offsets WHERE projection_name = '{id.Name}'")));
            var ids = Enumerable.Range(0, 10).Select(i => $"{table}-{i}").ToArray();
            foreach (var a in ids) { await node2.Ledger.SendAsync(a, new Open("h")); await node1.Ledger.SendAsync(a, new Deposit(1m)); }
            await TestWait.UntilAsync(async () => Assert.Equal(20L, await ScalarAsync(cs, $"SELECT coalesce(sum(events), 0) FROM {table}")));
            var first = Assert.Single(runners.Keys);

            var leaving = Cluster.Cluster.Get(node1.System).SelfAddress.ToString() == first ? node1 : node2;
            var staying = leaving == node1 ? node2 : node1;
            await leaving.DisposeAsync();
            if (leaving == node1) node1 = null!; else node2 = null!;

            foreach (var a in ids) await staying.Ledger.SendAsync(a, new Deposit(1m));
            await TestWait.UntilAsync(async () => Assert.Equal(30L, await ScalarAsync(cs, $"SELECT coalesce(sum(events), 0) FROM {table}")), TimeSpan.FromSeconds(45));
            Assert.Equal(2, runners.Count); // the singleton moved to the staying node
            // The read model (checked above) has every event exactly once; the in-memory tally may also count a step
            // the leaving node had begun and that was rolled back.
            Assert.True(runners.Values.Sum() >= 30);
        }
        finally
        {
            if (node2 is not null) await node2.DisposeAsync();
            if (node1 is not null) await node1.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_sharded_projection_runs_each_key_once_in_the_cluster_and_together_they_project_every_event()
    {
        var store = TestStore.PostgreSql();
        var cs = StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, store.ConnectionString);
        var table = $"rs_{Guid.NewGuid():N}"[..20];
        await ExecAsync(cs, $"CREATE TABLE {table} (persistence_id text PRIMARY KEY, events bigint NOT NULL, shard text NOT NULL)");
        var name = $"sharded-{table}";
        string[] keys = ["0", "1", "2", "3"];
        var runners = new ConcurrentDictionary<string, ConcurrentDictionary<string, bool>>();
        Func<Akka.Actor.ActorSystem, ProjectionId, Projection> start = (system, id) =>
        {
            var address = Cluster.Cluster.Get(system).SelfAddress.ToString();
            runners.GetOrAdd(id.Key, _ => new()).TryAdd(address, true);
            return Projection.ExactlyOnce(system, id, async (batch, tx, ct) =>
            {
                // Each key owns the aggregates whose last digit maps to it.
                foreach (var e in batch.Where(e => e.PersistenceId.Contains(table) && (e.PersistenceId[^1] - '0') % 4 == int.Parse(id.Key)))
                {
                    await using var upsert = new NpgsqlCommand(
                        $"INSERT INTO {table} VALUES ($1, 1, $2) ON CONFLICT (persistence_id) DO UPDATE SET events = {table}.events + 1",
                        (NpgsqlConnection)tx.Connection!, (NpgsqlTransaction)tx);
                    upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.PersistenceId });
                    upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id.Key });
                    await upsert.ExecuteNonQueryAsync(ct);
                }
            }, new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(20), Tag: "Ledger", StartFromEnd: true));
        };

        var port = TestWait.FreePort();
        var seeds = $"akka.cluster.seed-nodes = [\"akka.tcp://edsharded@127.0.0.1:{port}\"]";
        await using var node1 = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = {port}\n{seeds}", systemName: "edsharded",
            configure: b => b.WithShardedProjection(name, keys, start));
        await using var node2 = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = 0\n{seeds}", systemName: "edsharded",
            configure: b => b.WithShardedProjection(name, keys, start));

        // A key may move once node 2 joins (the daemon's shards rebalance), but it never runs on both nodes at the
        // same moment: watch both nodes' registries for the whole test.
        var ids4 = keys.Select(k => new ProjectionId(name, k)).ToArray();
        var overlaps = new ConcurrentQueue<string>();
        using var watching = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
            while (!watching.IsCancellationRequested)
            {
                foreach (var pid in ids4)
                    if (ProjectionRegistry.Get(node1.System).Find(pid) is not null && ProjectionRegistry.Get(node2.System).Find(pid) is not null)
                        overlaps.Enqueue(pid.ToString());
                await poll.WaitForNextTickAsync();
            }
        });

        await TestWait.UntilAsync(async () => Assert.Equal(4L, await ScalarAsync(cs, $"SELECT count(*) FROM projection_offsets WHERE projection_name = '{name}'")), TimeSpan.FromSeconds(30));
        var ids = Enumerable.Range(0, 12).Select(i => $"{table}-{i % 10}{i}").ToArray();
        foreach (var a in ids) { await node1.Ledger.SendAsync(a, new Open("s")); await node2.Ledger.SendAsync(a, new Deposit(1m)); }
        await TestWait.UntilAsync(async () => Assert.Equal(24L, await ScalarAsync(cs, $"SELECT coalesce(sum(events), 0) FROM {table}")));
        Assert.Equal(12L, await ScalarAsync(cs, $"SELECT count(*) FROM {table} WHERE (right(persistence_id, 1)::int % 4)::text = shard"));
        Assert.Equal(keys, runners.Keys.Order());
        // Every key runs somewhere, on exactly one node.
        await TestWait.UntilAsync(() =>
        {
            Assert.All(ids4, pid =>
                Assert.True(ProjectionRegistry.Get(node1.System).Find(pid) is not null ^ ProjectionRegistry.Get(node2.System).Find(pid) is not null,
                    $"{pid} should run on exactly one node"));
            return Task.CompletedTask;
        });
        watching.Cancel();
        await watcher;
        Assert.True(overlaps.IsEmpty, $"keys ran on both nodes at once: {string.Join(", ", overlaps.Distinct())}");
    }

    private static async Task ExecAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var command = new NpgsqlCommand(sql, c);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var command = new NpgsqlCommand(sql, c);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}
