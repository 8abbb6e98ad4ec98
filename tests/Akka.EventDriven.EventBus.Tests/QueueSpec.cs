using System.Collections.Concurrent;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Queues: competing consumers on three nodes, redelivery when a consumer dies mid-message.</summary>
public sealed class QueueSpec
{
    [Fact]
    public async Task Three_consumers_handle_every_message_once_and_a_dead_consumers_message_goes_to_another()
    {
        var queue = $"work.{Guid.NewGuid():N}";
        var dlq = $"dlq-{Guid.NewGuid():N}";
        await using var cluster = await BusCluster.StartAsync(TestStore.Best(), 3);
        var handled = new ConcurrentQueue<(int Node, int N, int Delivery)>();
        var stuck = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < 3; i++)
        {
            var node = i;
            await cluster.Bus(i).ConsumeAsync<Ping>(queue, async (m, ct) =>
            {
                if (node == 2 && m.Payload.N >= 100)
                {
                    stuck.TrySetResult(m.Payload.N);
                    // Node 2 hangs on its first message after the first batch, then dies. The handler must not time out
                    // first: with the cluster's 3 s visibility timeout the default handler timeout is 1.5 s, and on a
                    // loaded machine node 2 took longer than four such attempts to stop, so the hanging message failed
                    // four times, went to the dead-letter queue (as a failing handler's message should) and was never
                    // redelivered: what this test is about is a consumer that dies, not one that fails.
                    await Task.Delay(Timeout.Infinite, ct);
                }
                handled.Enqueue((node, m.Payload.N, m.Delivery));
            }, new SubscriptionOptions { HandlerTimeout = TimeSpan.FromMinutes(2), DeadLetterQueue = dlq });
        }

        // Warm-up: members on other nodes register through their sharding region once it knows the coordinator, and
        // until then the registered ones take every message. Enqueue one warm-up message at a time, wait until it was
        // handled (queue messages are journaled, so none is lost), and stop once every node has handled one.
        var warm = 0;
        await TestWait.UntilAsync(async () =>
        {
            var n = -1 - warm++;
            await cluster.Bus(0).EnqueueAsync(queue, new Ping(n));
            await TestWait.UntilAsync(() => { Assert.Contains(handled, h => h.N == n); return Task.CompletedTask; });
            Assert.Equal(3, handled.Select(h => h.Node).Distinct().Count());
        }, TimeSpan.FromSeconds(60));
        await TestWait.UntilAsync(() => { Assert.Equal(warm, handled.Count); return Task.CompletedTask; });
        handled.Clear();

        for (var i = 0; i < 100; i++) await cluster.Bus(i % 3).EnqueueAsync(queue, new Ping(i));
        await TestWait.UntilAsync(() => { Assert.Equal(100, handled.Count); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, 100), handled.Select(h => h.N).Order()); // each exactly once
        Assert.True(handled.Select(h => h.Node).Distinct().Count() >= 2, "the consumers compete");

        for (var i = 100; i < 160; i++) await cluster.Bus(i % 3).EnqueueAsync(queue, new Ping(i));
        var lost = await stuck.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await cluster.StopNodeAsync(2); // the consumer dies with the message unacknowledged

        await TestWait.UntilAsync(() =>
        {
            Assert.Equal(Enumerable.Range(0, 160), handled.Select(h => h.N).Distinct().Order());
            return Task.CompletedTask;
        }, TimeSpan.FromSeconds(40));
        var redelivered = handled.Single(h => h.N == lost);
        Assert.NotEqual(2, redelivered.Node);
        Assert.Equal(0, await cluster.Bus(0).DeadLetters(dlq).CountAsync()); // redelivered, not failed into the dead-letter queue
        // The delivery count is kept by the queue's consumer entity: when that entity lived on the dead node it starts
        // again on another node from the stored offset, and counting restarts at 1.
    }
}
