using Akka.Actor;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.TestKit.Xunit2;

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
}
