using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Projections.Tests;

/// <summary>
/// A hosted projection moving to another node never runs on both at once: the leaving node's instance stops (its
/// handler call finishes) before the one that takes over starts. An at-least-once handler that is slow or ignores
/// cancellation would otherwise run beside its successor, both handling the same events.
/// </summary>
public sealed class ProjectionHandOverSpec
{
    [Fact]
    public async Task The_new_instance_starts_only_after_the_old_one_finished_its_handler_call()
    {
        var store = TestStore.PostgreSql();
        var marker = $"ho{Guid.NewGuid():N}"[..16];
        var id = new ProjectionId($"handover-{marker}");
        var running = 0;
        var maxRunning = 0;
        var firstCallEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirstCall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var secondInstanceCalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string? firstAddress = null;

        Func<Akka.Actor.ActorSystem, Projection> start = system =>
        {
            var address = Cluster.Cluster.Get(system).SelfAddress.ToString();
            return Projection.AtLeastOnce(system, id, async (e, _) =>
            {
                if (!e.PersistenceId.Contains(marker)) return;
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref maxRunning, now);
                try
                {
                    if (Interlocked.Increment(ref calls) == 1)
                    {
                        firstAddress = address;
                        firstCallEntered.TrySetResult();
                        await releaseFirstCall.Task; // deliberately deaf to cancellation, like a stuck HTTP call
                    }
                    else if (address != firstAddress) secondInstanceCalled.TrySetResult();
                }
                finally { Interlocked.Decrement(ref running); }
            }, new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(20), Tag: "Ledger", StartFromEnd: true));
        };

        var port = TestWait.FreePort();
        // The old instance may take up to half of cluster-exiting to stop; give the hand-over room for the 8 s the
        // handler is held below, so the leave stays graceful on a loaded machine.
        var seeds = $"akka.cluster.seed-nodes = [\"akka.tcp://edhandover@127.0.0.1:{port}\"]\n" +
                    "akka.coordinated-shutdown.phases.cluster-exiting.timeout = 40s";
        var node1 = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = {port}\n{seeds}",
            systemName: "edhandover", configure: b => b.WithProjection(id, start));
        var node2 = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = 0\n{seeds}",
            systemName: "edhandover", configure: b => b.WithProjection(id, start));
        NodeHost? leaving = null;
        try
        {
            // Both nodes Up first: the seed node may be the one that leaves, and a node that has not joined by then
            // never will (loaded run 13: the second node was still retrying its join when the seed left).
            await TestWait.UntilAsync(() =>
            {
                foreach (var n in new[] { node1, node2 })
                    Assert.Equal(2, Cluster.Cluster.Get(n.System).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up));
                return Task.CompletedTask;
            }, TimeSpan.FromSeconds(60));

            // The projection starts from the journal's end; write until the running instance has seen our event.
            await TestWait.UntilAsync(async () =>
            {
                await node1.Ledger.SendAsync($"{marker}-{Guid.NewGuid():N}", new Open("h"));
                Assert.True(firstCallEntered.Task.IsCompleted);
            }, TimeSpan.FromSeconds(45));

            leaving = Cluster.Cluster.Get(node1.System).SelfAddress.ToString() == firstAddress ? node1 : node2;
            var staying = leaving == node1 ? node2 : node1;
            var leave = leaving.DisposeAsync().AsTask();

            // While the old call is stuck, the singleton must not start on the staying node: give the hand-over time
            // to (wrongly) happen, watching for the second instance's first call.
            await TestWait.NeverWithinAsync(() => secondInstanceCalled.Task.IsCompleted, TimeSpan.FromSeconds(8),
                () => "the new instance ran while the old one was still in its handler");

            releaseFirstCall.TrySetResult();
            await leave;
            // The staying node takes over the projection (and, if the leaving node had them, the shard coordinator
            // and the shards): keep writing until its instance has handled one of our events.
            await TestWait.UntilAsync(async () =>
            {
                await staying.Ledger.SendAsync($"{marker}-{Guid.NewGuid():N}", new Open("h"));
                Assert.True(secondInstanceCalled.Task.IsCompleted);
            }, TimeSpan.FromSeconds(90));
            Assert.Equal(1, Volatile.Read(ref maxRunning));
        }
        finally
        {
            releaseFirstCall.TrySetResult();
            if (leaving != node1) await node1.DisposeAsync();
            if (leaving != node2) await node2.DisposeAsync();
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current) { }
    }
}
