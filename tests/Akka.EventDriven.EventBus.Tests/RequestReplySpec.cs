using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

public sealed class RequestReplySpec
{
    [Fact]
    public async Task A_handler_runs_at_most_its_concurrency_and_requests_beyond_its_queue_are_answered_overloaded_at_once()
    {
        // A caller gives up at its timeout, but a started handler runs on: callers faster than the handler must not
        // pile up handlers without bound.
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1,
            "akka.event-driven.bus.request-handler { max-concurrency = 4, max-queued = 2 }");
        var bus = cluster.Bus(0);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = 0;
        var mostAtOnce = 0;
        var started = 0;
        await using var handler = await bus.HandleRequestsAsync<Ping, Pong>("slow.quote", async (p, _) =>
        {
            if (p.N < 0) return new Pong(p.N, "warm-up");
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref mostAtOnce, now);
            Interlocked.Increment(ref started);
            await gate.Task;
            Interlocked.Decrement(ref running);
            return new Pong(p.N, "h");
        });
        // The registration has reached the mediator.
        await TestWait.UntilAsync(async () => Assert.Equal(-1, (await bus.RequestAsync<Pong>("slow.quote", new Ping(-1), TimeSpan.FromMilliseconds(500))).N),
            TimeSpan.FromSeconds(20));

        // 4 run, 2 wait, the other 14 are refused at once (long before their 30 s timeout).
        var requests = Enumerable.Range(1, 20).Select(i => bus.RequestAsync<Pong>("slow.quote", new Ping(i), TimeSpan.FromSeconds(30))).ToArray();
        await TestWait.UntilAsync(() =>
        {
            Assert.Equal(14, requests.Count(r => r.IsFaulted));
            return Task.CompletedTask;
        });
        foreach (var refused in requests.Where(r => r.IsFaulted))
            Assert.Equal("Overloaded", Assert.IsType<RequestFailedException>(refused.Exception!.GetBaseException()).ErrorType);
        Assert.Equal(4, Volatile.Read(ref started));

        gate.SetResult();
        var answered = await Task.WhenAll(requests.Where(r => !r.IsFaulted));
        Assert.Equal(6, answered.Length);
        Assert.Equal(6, Volatile.Read(ref started)); // the 2 queued ran once slots were free
        Assert.InRange(Volatile.Read(ref mostAtOnce), 1, 4);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); seen < value; seen = Volatile.Read(ref target))
            if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
    }

    [Fact]
    public async Task Requests_are_answered_across_nodes_by_one_handler_of_the_group_timeouts_and_failures_are_clear()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 3);
        var handled = new System.Collections.Concurrent.ConcurrentBag<string>();
        for (var i = 1; i < 3; i++)
        {
            var node = $"n{i}";
            await cluster.Bus(i).HandleRequestsAsync<Ping, Pong>("pricing.quote", (p, _) =>
            {
                handled.Add(node);
                return Task.FromResult(new Pong(p.N * 2, node));
            });
        }
        await cluster.Bus(2).HandleRequestsAsync<Ping, Pong>("pricing.fail", (p, _) => throw new InvalidOperationException($"no price for {p.N}"));

        // Wait for the registrations to reach node 0.
        await TestWait.UntilAsync(async () => await cluster.Bus(0).RequestAsync<Pong>("pricing.quote", new Ping(0), TimeSpan.FromMilliseconds(500)), TimeSpan.FromSeconds(20));
        handled.Clear();

        for (var i = 1; i <= 40; i++)
        {
            var pong = await cluster.Bus(0).RequestAsync<Pong>("pricing.quote", new Ping(i));
            Assert.Equal(i * 2, pong.N);
        }
        Assert.Equal(40, handled.Count); // one handler per request, not both

        var failed = await Assert.ThrowsAsync<RequestFailedException>(() => cluster.Bus(0).RequestAsync<Pong>("pricing.fail", new Ping(7), TimeSpan.FromSeconds(5)));
        Assert.Contains("no price for 7", failed.Message);
        Assert.Equal(typeof(InvalidOperationException).FullName, failed.ErrorType);

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => cluster.Bus(0).RequestAsync<Pong>("nobody.listens", new Ping(1), TimeSpan.FromMilliseconds(300)));
        Assert.Contains("'nobody.listens'", timeout.Message);

        // Nothing leaks per request: the temporary reply actors are gone.
        await TestWait.UntilAsync(() =>
        {
            var temp = ((Akka.Actor.ExtendedActorSystem)cluster.Nodes[0]!.System).Provider.TempContainer;
            var hasChildren = temp.GetType().GetProperty("HasChildren",
                System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)!;
            Assert.False((bool)hasChildren.GetValue(temp)!);
            return Task.CompletedTask;
        });
    }
}
