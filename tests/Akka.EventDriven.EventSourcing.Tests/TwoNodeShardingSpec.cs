using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>Two cluster nodes on 127.0.0.1 in one test, sharing one store.</summary>
public sealed class TwoNodeShardingSpec
{
    [Fact]
    public async Task Commands_from_both_nodes_reach_one_entity_which_moves_with_its_state_when_its_node_leaves()
    {
        var store = TestStore.Best();
        var seedPort = TestWait.FreePort();
        var seeds = $"akka.cluster.seed-nodes = [\"akka.tcp://edcluster@127.0.0.1:{seedPort}\"]";
        var node1 = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = {seedPort}\n{seeds}", systemName: "edcluster");
        var node2 = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = 0\n{seeds}", systemName: "edcluster");
        NodeHost? survivor = null;
        try
        {
            await TestWait.UntilAsync(() =>
            {
                foreach (var n in new[] { node1, node2 })
                    Assert.Equal(2, Cluster.Cluster.Get(n.System).State.Members.Count(m => m.Status == MemberStatus.Up));
                return Task.CompletedTask;
            });

            var id = $"shared-{Guid.NewGuid():N}";
            Assert.IsType<CommandAccepted>(await node1.Ledger.SendAsync(id, new Open("kim")));
            var sends = Enumerable.Range(0, 20)
                .Select(i => (i % 2 == 0 ? node1 : node2).Ledger.SendAsync(id, new Deposit(1m)))
                .ToArray();
            var results = await Task.WhenAll(sends);

            // One single writer: 20 accepted commands got the 20 distinct versions after the Open.
            Assert.All(results, r => Assert.IsType<CommandAccepted>(r));
            Assert.Equal(Enumerable.Range(2, 20).Select(v => (long)v), results.Select(r => r.Version).Order());
            Assert.Equal(20m, (await node2.Ledger.GetStateAsync(id)).State.Balance);

            var host = await HostsEntity(node1, id) ? node1 : node2;
            survivor = host == node1 ? node2 : node1;
            Assert.True(await HostsEntity(host, id));
            Assert.False(await HostsEntity(survivor, id));

            await host.DisposeAsync(); // leaves the cluster gracefully; its shards hand over
            if (host == node1) node1 = null!; else node2 = null!;

            var after = await survivor.Ledger.SendAsync(id, new Deposit(5m));
            Assert.Equal(22, Assert.IsType<CommandAccepted>(after).Version);
            var state = await survivor.Ledger.GetStateAsync(id);
            Assert.Equal(new LedgerState("kim", 25m, 22), state.State);
            Assert.True(await HostsEntity(survivor, id));
        }
        finally
        {
            if (node2 is not null) await node2.DisposeAsync();
            if (node1 is not null) await node1.DisposeAsync();
        }
    }

    private static async Task<bool> HostsEntity(NodeHost node, string id)
    {
        var state = await node.Ledger.Region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
        return state.Shards.Any(s => s.EntityIds.Contains(id));
    }
}
