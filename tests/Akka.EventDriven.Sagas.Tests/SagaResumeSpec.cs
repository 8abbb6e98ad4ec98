using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Sagas.Tests;

/// <summary>Resume after a restart (in process; the kill -9 variant is <see cref="SagaCrashSpec"/>), and many sagas at once.</summary>
public sealed class SagaResumeSpec
{
    [Fact]
    public async Task A_running_saga_resumes_by_itself_after_its_node_restarts()
    {
        var store = TestStore.NewSqlite();
        var index = $"saga_index_{Guid.NewGuid():N}"[..24];
        string id;
        await using (var first = await SagaNode.StartNodeAsync(store, index))
        {
            id = await SagaOrchestrator.Get(first.System).ExecuteAsync(TestSagas.Blocking.Name, new OrderData());
            await TestWait.UntilAsync(() =>
            {
                Assert.Equal(1, Effects.Count(id, "try:wait"));
                return Task.CompletedTask;
            });
        } // stopped mid-step: the attempt is cancelled, nothing is recorded for it

        await using var second = await SagaNode.StartNodeAsync(store, index);
        // No command is sent to the saga: the resume sweep must find it in the index and wake it.
        await TestWait.UntilAsync(() =>
        {
            Assert.Equal(1, Effects.Count(id, "do:finish"));
            return Task.CompletedTask;
        }, TimeSpan.FromSeconds(20));
        var status = await SagaOrchestrator.Get(second.System).WaitForCompletionAsync(id, TimeSpan.FromSeconds(10));
        Assert.Equal(SagaState.Completed, status.State);
        Assert.Equal(2, Effects.Count(id, "try:wait")); // the unrecorded step ran again
        Assert.Equal(["wait", "finish"], SagaOrchestrator.Get(second.System).DataOf<OrderData>(status).Done);
    }

    [Fact]
    public async Task A_saga_stopped_while_compensating_a_timed_out_step_still_compensates_it_after_the_restart()
    {
        var store = TestStore.NewSqlite();
        var index = $"saga_index_{Guid.NewGuid():N}"[..24];
        string id;
        await using (var first = await SagaNode.StartNodeAsync(store, index))
        {
            var sagas = SagaOrchestrator.Get(first.System);
            id = await sagas.ExecuteAsync(TestSagas.SlowForResume.Name, new OrderData());
            // Compensating, and waiting for the timed-out attempt before compensating it.
            await TestWait.UntilAsync(async () => Assert.Equal(SagaState.Compensating, (await sagas.GetStatusAsync(id))!.State));
            Assert.Equal(0, Effects.Count(id, "undo:slow"));
        } // stopped: the decision to compensate the timed-out step exists only in the journal now

        await using var second = await SagaNode.StartNodeAsync(store, index);
        var status = await SagaOrchestrator.Get(second.System).WaitForCompletionAsync(id, TimeSpan.FromSeconds(30));
        Assert.Equal(SagaState.Compensated, status.State);
        Assert.Equal(["slow", "first"], status.CompensatedSteps);
        Assert.Equal(1, Effects.Count(id, "undo:slow"));
        Assert.Equal(1, Effects.Count(id, "undo:first"));
        Assert.Equal(1, Effects.Count(id, "try:slow")); // the step itself never ran again
    }

    [Fact]
    public async Task A_running_saga_resumes_on_the_other_node_when_its_node_leaves()
    {
        var store = TestStore.Best();
        var index = $"saga_index_{Guid.NewGuid():N}"[..24];
        var seedPort = TestWait.FreePort();
        var seeds = $"akka.cluster.seed-nodes = [\"akka.tcp://sagacluster@127.0.0.1:{seedPort}\"]";
        NodeHost? node1 = await SagaNode.StartNodeAsync(store, index, extraHocon: $"akka.remote.dot-netty.tcp.port = {seedPort}\n{seeds}", systemName: "sagacluster");
        NodeHost? node2 = await SagaNode.StartNodeAsync(store, index, extraHocon: $"akka.remote.dot-netty.tcp.port = 0\n{seeds}", systemName: "sagacluster");
        try
        {
            await TestWait.UntilAsync(() =>
            {
                foreach (var n in new[] { node1, node2 })
                    Assert.Equal(2, Akka.Cluster.Cluster.Get(n.System).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up));
                return Task.CompletedTask;
            });
            // Started from node 2, so the start (and the status replies) may cross nodes.
            var id = await SagaOrchestrator.Get(node2.System).ExecuteAsync(TestSagas.Blocking.Name, new OrderData());
            await TestWait.UntilAsync(() =>
            {
                Assert.Equal(1, Effects.Count(id, "try:wait"));
                return Task.CompletedTask;
            });
            var host = await HostsSaga(node1, id) ? node1 : node2;
            var survivor = host == node1 ? node2 : node1;
            Assert.True(await HostsSaga(host, id));

            await host.DisposeAsync(); // leaves gracefully: the running attempt is cancelled, nothing is recorded
            if (host == node1) node1 = null; else node2 = null;

            // No command: the survivor's resume sweep wakes the saga, which now lives on the survivor.
            await TestWait.UntilAsync(() =>
            {
                Assert.Equal(1, Effects.Count(id, "do:finish"));
                return Task.CompletedTask;
            }, TimeSpan.FromSeconds(30));
            var status = await SagaOrchestrator.Get(survivor.System).WaitForCompletionAsync(id, TimeSpan.FromSeconds(10));
            Assert.Equal(SagaState.Completed, status.State);
            Assert.Equal(2, Effects.Count(id, "try:wait"));
            Assert.Equal(["wait", "finish"], status.History.Select(a => a.StepId));
        }
        finally
        {
            if (node2 is not null) await node2.DisposeAsync();
            if (node1 is not null) await node1.DisposeAsync();
        }
    }

    private static async Task<bool> HostsSaga(NodeHost node, string id)
    {
        var region = ClusterSharding.Get(node.System).ShardRegion(SagaOrchestrator.RegionName);
        var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
        return state.Shards.Any(s => s.EntityIds.Contains(id));
    }

    [Fact]
    public async Task A_thousand_concurrent_sagas_all_finish_correctly_and_their_entities_passivate()
    {
        const int count = 1000;
        await using var node = await SagaNode.StartNodeAsync(TestStore.Best(), $"saga_index_{Guid.NewGuid():N}"[..24]);
        var sagas = SagaOrchestrator.Get(node.System);

        var results = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            sagas.RunAsync(TestSagas.Quick.Name, new OrderData { OrderId = $"order-{i}" }, TimeSpan.FromSeconds(60))));

        Assert.Equal(count, results.Select(r => r.SagaId).Distinct().Count());
        Assert.All(results, r =>
        {
            Assert.Equal(SagaState.Completed, r.State);
            var data = sagas.DataOf<OrderData>(r);
            Assert.Equal(111, data.Total);
            Assert.Equal(["reserve", "charge", "ship"], data.Done);
        });
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"order-{i}").Order(),
            results.Select(r => sagas.DataOf<OrderData>(r).OrderId).Order());

        // Finished sagas stop (passivate-after-finish = 500 ms here): the region ends up hosting no entity.
        var region = ClusterSharding.Get(node.System).ShardRegion(SagaOrchestrator.RegionName);
        await TestWait.UntilAsync(async () =>
        {
            var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
            Assert.Equal(0, state.Shards.Sum(s => s.EntityIds.Count));
        }, TimeSpan.FromSeconds(20));

        // And a passivated saga still answers from its journal.
        var again = await sagas.GetStatusAsync(results[0].SagaId);
        Assert.Equal(SagaState.Completed, again!.State);
    }
}
