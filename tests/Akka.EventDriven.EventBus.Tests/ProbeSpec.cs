using Akka.Actor;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Handlers that forward to Akka.TestKit probes: how users test their subscriptions.</summary>
public sealed class ProbeSpec : Akka.TestKit.Xunit2.TestKit
{
    [Fact]
    public async Task Subscribers_on_two_nodes_forward_to_probes_and_a_durable_group_receives_in_order()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.Best(), 2);
        var probe0 = CreateTestProbe(cluster.Nodes[0]!.System);
        var probe1 = CreateTestProbe(cluster.Nodes[1]!.System);
        await cluster.Bus(0).SubscribeAsync<Threat>("probe.threats", (m, _) => { probe0.Ref.Tell(m.Payload); return Task.CompletedTask; });
        await cluster.Bus(1).SubscribeAsync<Threat>("probe.threats", (m, _) => { probe1.Ref.Tell(m.Payload); return Task.CompletedTask; });

        // Wait until node 1's subscription is known on node 0.
        await AwaitAssertAsync(async () =>
        {
            await cluster.Bus(0).PublishAsync("probe.threats", new Threat(0, "warm"));
            probe1.ExpectMsg<Threat>(TimeSpan.FromMilliseconds(300));
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
        probe0.ReceiveWhile(TimeSpan.FromMilliseconds(300), o => o);
        probe1.ReceiveWhile(TimeSpan.FromMilliseconds(300), o => o);

        await cluster.Bus(0).PublishAsync("probe.threats", new Threat(9, "APT29"));
        probe0.ExpectMsg(new Threat(9, "APT29"));
        probe1.ExpectMsg(new Threat(9, "APT29"));

        var topic = $"probe.cases.{Guid.NewGuid():N}";
        var durable = CreateTestProbe(cluster.Nodes[1]!.System);
        await using var sub = await cluster.Bus(1).SubscribeAsync<Ping>(topic, (m, _) => { durable.Ref.Tell(m.Payload.N); return Task.CompletedTask; },
            new SubscriptionOptions { Durable = true });
        for (var i = 1; i <= 5; i++) await cluster.Bus(0).PublishAsync(topic, new Ping(i), new PublishOptions { Persistent = true });
        foreach (var n in Enumerable.Range(1, 5)) durable.ExpectMsg(n, TimeSpan.FromSeconds(10));
        durable.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_delivery_that_is_never_acknowledged_by_a_live_subscriber_is_redelivered_after_the_visibility_timeout()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1,
            "akka.event-driven.bus.durable { visibility-timeout = 1s, heartbeat-interval = 200ms }");
        var system = cluster.Nodes[0]!.System;
        var bus = cluster.Bus(0);
        var queue = $"lossy.{Guid.NewGuid():N}";
        await bus.EnqueueAsync(queue, new Ping(1));
        await bus.EnqueueAsync(queue, new Ping(2));

        // A subscriber that stays alive (heartbeats) but loses the first delivery: it never acknowledges it.
        var member = CreateTestProbe(system);
        var region = Akka.Cluster.Sharding.ClusterSharding.Get(system).ShardRegion("EdBusConsumer");
        var consumerId = $"q:{queue}|";
        using var heartbeat = new Timer(_ => region.Tell(new Internal.RegisterMember(consumerId, member.Ref, 8)), null, 0, 200);

        var first = member.ExpectMsg<Internal.Deliver>(TimeSpan.FromSeconds(10));
        var second = member.ExpectMsg<Internal.Deliver>(TimeSpan.FromSeconds(10));
        Assert.Equal((1L, 1), (first.Sequence, first.DeliveryCount));
        region.Tell(new Internal.AckDeliveries(consumerId, [second.Sequence])); // only the second is acknowledged

        var again = member.ExpectMsg<Internal.Deliver>(TimeSpan.FromSeconds(10));
        Assert.Equal((1L, 2), (again.Sequence, again.DeliveryCount));
        region.Tell(new Internal.AckDeliveries(consumerId, [again.Sequence]));
        member.ExpectNoMsg(TimeSpan.FromSeconds(2));
        await AwaitAssertAsync(async () => Assert.Equal(2, await bus.Store.LoadOffsetAsync(consumerId))); // both acknowledged
    }
}
