using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Xunit.Abstractions;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>When a node joins, the sharding coordinator moves aggregates to it, and sharding drops the messages that
/// reach a region while the aggregate's shard is being handed off. A command sent at that moment must still get its
/// answer (the repository resends it) and take effect once (the aggregate knows the command id it already stored).</summary>
public sealed class RebalanceSpec(ITestOutputHelper output)
{
    private const int Ledgers = 48;

    [Fact]
    public async Task Commands_under_load_while_aggregates_move_to_a_joining_node_all_succeed_and_each_takes_effect_once()
    {
        var store = TestStore.PostgreSql();
        var seedPort = TestWait.FreePort();
        var hocon = $"akka.cluster.seed-nodes = [\"akka.tcp://edmove@127.0.0.1:{seedPort}\"]\n" +
                    "akka.cluster.sharding.rebalance-interval = 500ms\n";
        await using var first = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = {seedPort}\n{hocon}", systemName: "edmove");
        var ids = Enumerable.Range(0, Ledgers).Select(i => $"moving-{i}-{Guid.NewGuid():N}").ToArray();
        foreach (var id in ids) Assert.IsType<CommandAccepted>(await first.Ledger.SendAsync(id, new Open("kim")));

        // 16 callers send deposits of 1 to random ledgers on the first node until the aggregates have moved.
        using var stop = new CancellationTokenSource();
        var accepted = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();
        var sent = 0;
        var load = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (!stop.IsCancellationRequested)
            {
                var id = ids[random.Next(ids.Length)];
                Interlocked.Increment(ref sent);
                try
                {
                    Assert.IsType<CommandAccepted>(await first.Ledger.SendAsync(id, new Deposit(1m)));
                    accepted.AddOrUpdate(id, 1, (_, n) => n + 1);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failures.Enqueue($"{e.GetType().Name}: {e.Message}");
                }
            }
        })).ToArray();
        await TestWait.UntilAsync(() => { Assert.True(accepted.Values.Sum() > 500); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));

        await using var second = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = 0\n{hocon}", systemName: "edmove");
        await TestWait.UntilAsync(() =>
        {
            Assert.Equal(2, Cluster.Cluster.Get(first.System).State.Members.Count(m => m.Status == MemberStatus.Up));
            return Task.CompletedTask;
        }, TimeSpan.FromSeconds(30));
        // The coordinator moves shards one rebalance round at a time: wait until the new node hosts a fair share.
        await TestWait.UntilAsync(async () =>
        {
            var state = await second.Ledger.Region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
            var moved = state.Shards.Sum(s => s.EntityIds.Count(id => ids.Contains(id)));
            Assert.True(moved >= Ledgers / 4, $"{moved} of {Ledgers} ledgers on the joining node");
        }, TimeSpan.FromSeconds(60));
        var before = accepted.Values.Sum();
        await TestWait.UntilAsync(() => { Assert.True(accepted.Values.Sum() > before + 500); return Task.CompletedTask; }, TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(load);

        output.WriteLine($"{sent} commands sent, {accepted.Values.Sum()} accepted, {failures.Count} failed during the rebalance");
        Assert.True(failures.IsEmpty, $"{failures.Count} of {sent} commands failed during the rebalance; first: {failures.FirstOrDefault()}");
        foreach (var id in ids)
        {
            var state = await second.Ledger.GetStateAsync(id);
            Assert.Equal(accepted.GetValueOrDefault(id), (int)state.State.Balance); // each accepted deposit counted once, none twice
        }
    }
}
