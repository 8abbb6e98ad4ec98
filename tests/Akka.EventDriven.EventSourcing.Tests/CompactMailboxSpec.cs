using Akka.Actor;
using Akka.Dispatch.MessageQueues;
using Akka.EventDriven.EventSourcing.Internal;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// The aggregates' mailbox: first in, first out, with messages put back in front (a persistent actor's stash), none
/// lost or reordered under concurrent senders, and no array kept by an actor at rest after a burst. And an aggregate's
/// entity (one actor) runs on it.
/// </summary>
public sealed class CompactMailboxSpec
{
    private static Envelope Message(int n) => new(n, ActorRefs.NoSender);

    private static List<int> Drain(CompactMessageQueue queue)
    {
        var seen = new List<int>();
        while (queue.TryDequeue(out var e)) seen.Add((int)e.Message);
        return seen;
    }

    [Fact]
    public void Messages_come_out_in_order_with_the_ones_put_back_first()
    {
        var queue = new CompactMessageQueue();
        Assert.False(queue.HasMessages);
        Assert.False(queue.TryDequeue(out _));
        queue.EnqueueFirst(Message(7)); // put back into a queue that has no array yet
        Assert.Equal([7], Drain(queue));

        // The head moves off 0, then the ring grows (4, 8, 16, 32, 64) with it there: order is kept.
        for (var i = 1; i <= 3; i++) queue.Enqueue(ActorRefs.Nobody, Message(i));
        Assert.True(queue.TryDequeue(out var first));
        Assert.Equal(1, first.Message);
        for (var i = 4; i <= 40; i++) queue.Enqueue(ActorRefs.Nobody, Message(i));
        queue.EnqueueFirst(Message(1));
        queue.EnqueueFirst(Message(0));
        Assert.Equal(41, queue.Count);
        Assert.Equal(Enumerable.Range(0, 41), Drain(queue));
        Assert.False(queue.HasMessages);

        // A full ring that has wrapped (head at 2 of 8), then one put back in front of it: it grows around the head.
        for (var i = 0; i < 5; i++) queue.Enqueue(ActorRefs.Nobody, Message(i));
        Assert.Equal([0, 1], new[] { Dequeue(queue), Dequeue(queue) });
        for (var i = 5; i < 10; i++) queue.Enqueue(ActorRefs.Nobody, Message(i));
        Assert.Equal(queue.Capacity, queue.Count); // 8 of 8
        queue.EnqueueFirst(Message(-1));
        Assert.Equal([-1, 2, 3, 4, 5, 6, 7, 8, 9], Drain(queue));

        static int Dequeue(CompactMessageQueue q) => q.TryDequeue(out var e) ? (int)e.Message : throw new InvalidOperationException("empty");
    }

    [Fact]
    public void A_burst_gives_its_array_back_once_the_queue_is_empty()
    {
        var queue = new CompactMessageQueue();
        queue.Enqueue(ActorRefs.Nobody, Message(1));
        Drain(queue);
        Assert.Equal(4, queue.Capacity); // kept: an actor that handles one message at a time allocates nothing more

        for (var i = 0; i < 1_000; i++) queue.Enqueue(ActorRefs.Nobody, Message(i));
        Assert.True(queue.Capacity >= 1_000);
        Assert.Equal(Enumerable.Range(0, 1_000), Drain(queue));
        Assert.Equal(0, queue.Capacity);
    }

    [Fact]
    public void A_message_handed_out_is_no_longer_referenced_by_the_queue()
    {
        var queue = new CompactMessageQueue();
        var weak = Enqueue(queue);
        queue.Enqueue(ActorRefs.Nobody, Message(2)); // the queue is not empty, so its array is kept
        Assert.True(DequeueOne(queue));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(weak.IsAlive);

        // Not inlined: the test's own frame holds no reference to the payload.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static bool DequeueOne(CompactMessageQueue queue) => queue.TryDequeue(out _);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static WeakReference Enqueue(CompactMessageQueue queue)
        {
            var payload = new object();
            queue.Enqueue(ActorRefs.Nobody, new Envelope(payload, ActorRefs.NoSender));
            return new WeakReference(payload);
        }
    }

    [Fact]
    public async Task Concurrent_senders_lose_nothing_and_each_keeps_its_order()
    {
        const int senders = 4, each = 50_000;
        var queue = new CompactMessageQueue();
        var received = new List<int>(senders * each);
        using var done = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            while (received.Count < senders * each)
                if (queue.TryDequeue(out var e)) received.Add((int)e.Message);
                else if (done.IsCancellationRequested) break;
        });
        try
        {
            await Task.WhenAll(Enumerable.Range(0, senders).Select(s => Task.Run(() =>
            {
                for (var i = 0; i < each; i++) queue.Enqueue(ActorRefs.Nobody, Message(s * each + i));
            })));
            await reader.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            done.Cancel(); // the reader never outlives the test
        }

        Assert.Equal(senders * each, received.Count);
        for (var s = 0; s < senders; s++)
        {
            var mine = received.Where(n => n / each == s).ToList();
            Assert.Equal(Enumerable.Range(s * each, each), mine);
        }
    }

    [Fact]
    public async Task An_aggregates_entity_runs_on_it_and_is_one_actor()
    {
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        var id = $"acc-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("alice"));

        var entity = await node.System.ActorSelection($"/system/sharding/*/*/{id}").ResolveOne(TimeSpan.FromSeconds(10));
        var cell = Assert.IsAssignableFrom<ActorCell>(((ActorRefWithCell)entity).Underlying);
        Assert.IsType<CompactMessageQueue>(cell.Mailbox!.MessageQueue);
        Assert.Equal(typeof(AggregateActor), cell.Props.Type);
        Assert.Empty(cell.GetChildren()); // no second actor per aggregate
    }
}
