using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Durable topics: journaled before acknowledged, stored offsets per group, catch-up after downtime and restarts.</summary>
public sealed class DurableSpec
{
    public static TheoryData<string> Stores => new() { "sqlite", "postgresql" };

    private static TestStore StoreFor(string kind) => kind == "sqlite" ? TestStore.NewSqlite() : TestStore.PostgreSql();

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_stopped_subscriber_gets_everything_published_meanwhile_in_order_and_offsets_survive_a_restart(string kind)
    {
        var store = StoreFor(kind);
        var topic = $"cases.opened.{Guid.NewGuid():N}";
        var seen = new Seen<Ping>();
        // Completes if the first subscription's handler runs for anything published after it was disposed (a bug).
        var lateDelivery = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var record = seen.Handler("a");
        var cluster = await BusCluster.StartAsync(store, 1);
        try
        {
            var bus = cluster.Bus(0);
            var sub = await bus.SubscribeAsync<Ping>(topic, (m, ct) =>
            {
                if (m.Payload.N > 20) lateDelivery.TrySetResult();
                return record(m, ct);
            }, new SubscriptionOptions { Durable = true, Group = "audit" });
            for (var i = 1; i <= 20; i++)
            {
                var receipt = await bus.PublishAsync(topic, new Ping(i), new PublishOptions { Persistent = true });
                Assert.Equal(i, receipt.Sequence);
            }
            await TestWait.UntilAsync(() => { Assert.Equal(20, seen.Items.Count); return Task.CompletedTask; });
            await sub.DisposeAsync();

            // Published while the subscription is down.
            for (var i = 21; i <= 60; i++) await bus.PublishAsync(topic, new Ping(i), new PublishOptions { Persistent = true });
            // Absence check: nothing may reach the disposed subscription for several poll intervals of 300 ms; a
            // longer window only makes the check stricter.
            await TestWait.NeverWithinAsync(() => lateDelivery.Task.IsCompleted, TimeSpan.FromSeconds(1.5),
                () => "the disposed subscription's handler ran for a message published after it was disposed");
            Assert.Equal(20, seen.Items.Count);

            sub = await bus.SubscribeAsync(topic, seen.Handler("b"), new SubscriptionOptions { Durable = true, Group = "audit" });
            await TestWait.UntilAsync(() => { Assert.Equal(60, seen.Items.Select(x => x.Message.Payload.N).Distinct().Count()); return Task.CompletedTask; });
            Assert.Equal(Enumerable.Range(21, 40), seen.By("b").Select(m => m.Payload.N).Where(n => n > 20).Distinct());
            Assert.Equal(seen.By("b").Select(m => m.Sequence), seen.By("b").Select(m => m.Sequence).Order()); // in order

            // A second group has its own offset: it starts from the beginning.
            var other = new Seen<Ping>();
            await using (await bus.SubscribeAsync(topic, other.Handler("x"), new SubscriptionOptions { Durable = true, Group = "billing" }))
                await TestWait.UntilAsync(() => { Assert.Equal(60, other.Items.Count); return Task.CompletedTask; });
            Assert.Equal(Enumerable.Range(1, 60), other.Items.Select(x => x.Message.Payload.N));

            await TestWait.UntilAsync(async () => Assert.Equal(0, (await bus.GetMetricsAsync()).SubscriptionLag));
            await sub.DisposeAsync();
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        // A new actor system on the same store: the group resumes after its stored offset.
        seen.Items.Clear();
        await using var restarted = await BusCluster.StartAsync(store, 1);
        var bus2 = restarted.Bus(0);
        await using var again = await bus2.SubscribeAsync(topic, seen.Handler("c"), new SubscriptionOptions { Durable = true, Group = "audit" });
        for (var i = 61; i <= 70; i++) await bus2.PublishAsync(topic, new Ping(i), new PublishOptions { Persistent = true });
        await TestWait.UntilAsync(() => { Assert.Contains(seen.Items, x => x.Message.Payload.N == 70); return Task.CompletedTask; });
        Assert.Equal(Enumerable.Range(61, 10), seen.Items.Select(x => x.Message.Payload.N));
    }

    [Fact]
    public async Task Partitions_keep_order_per_key()
    {
        var topic = $"orders.{Guid.NewGuid():N}";
        await using var cluster = await BusCluster.StartAsync(TestStore.Best(), 1,
            $"akka.event-driven.bus.durable.topics {{ \"{topic}\" {{ partitions = 4 }} }}");
        var bus = cluster.Bus(0);
        Assert.Equal(4, bus.Settings.PartitionsOf(topic));
        var seen = new Seen<Ping>();
        await using var sub = await bus.SubscribeAsync(topic, seen.Handler("a"), new SubscriptionOptions { Durable = true });
        var publishes = Enumerable.Range(0, 200).Select(i =>
            bus.PublishAsync(topic, new Ping(i), new PublishOptions { Persistent = true, PartitionKey = $"k{i % 8}" }));
        var receipts = await Task.WhenAll(publishes);
        Assert.True(receipts.Select(r => r.Partition).Distinct().Count() > 1);
        await TestWait.UntilAsync(() => { Assert.Equal(200, seen.Items.Count); return Task.CompletedTask; });
        foreach (var byPartition in seen.Items.GroupBy(x => x.Message.Partition))
            Assert.Equal(byPartition.Select(x => x.Message.Sequence), byPartition.Select(x => x.Message.Sequence).Order());
    }
}
