using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

public sealed class RequestReplySpec
{
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
