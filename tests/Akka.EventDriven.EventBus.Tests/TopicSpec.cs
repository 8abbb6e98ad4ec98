using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>The fast path across three nodes: fan-out, groups, wildcards, and bad input.</summary>
public sealed class TopicSpec
{
    [Fact]
    public async Task Publish_reaches_every_subscriber_on_three_nodes_groups_share_and_wildcards_match()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 3);
        var all = new Seen<Threat>();
        var grouped = new Seen<Threat>();
        var wildcard = new Seen<Threat>();
        // Warm-up messages go to their own collector, so a late one cannot be counted among the real messages.
        var warmUp = new Seen<Threat>();
        Func<BusMessage<Threat>, CancellationToken, Task> Into(Seen<Threat> seen, string kind, string who)
        {
            var real = seen.Handler(who);
            var warm = warmUp.Handler($"{kind}/{who}");
            return (m, ct) => m.Payload.Name.StartsWith("warm-", StringComparison.Ordinal) ? warm(m, ct) : real(m, ct);
        }
        var subs = new List<IBusSubscription>();
        for (var i = 0; i < 3; i++)
        {
            subs.Add(await cluster.Bus(i).SubscribeAsync("intel.threats", Into(all, "all", $"n{i}")));
            subs.Add(await cluster.Bus(i).SubscribeAsync("intel.threats", Into(grouped, "group", $"n{i}"), new SubscriptionOptions { Group = "analysts" }));
        }
        subs.Add(await cluster.Bus(2).SubscribeAsync("intel.*", Into(wildcard, "wild", "w")));

        // DistributedPubSub drops a publish made before the subscription has gossiped to the publisher's node (and a
        // group or pattern before the routing refresh). Every node publishes below, so each node publishes warm-up
        // messages (named for it) until every subscription got one of that node's.
        var warm = 0;
        await TestWait.UntilAsync(async () =>
        {
            warm++;
            for (var p = 0; p < 3; p++) await cluster.Bus(p).PublishAsync("intel.threats", new Threat(0, $"warm-{p}-{warm}"));
            for (var p = 0; p < 3; p++)
            {
                var from = warmUp.Items.Where(x => x.Message.Payload.Name.StartsWith($"warm-{p}-", StringComparison.Ordinal)).Select(x => x.Who).ToList();
                Assert.Equal(["all/n0", "all/n1", "all/n2"], from.Where(w => w.StartsWith("all/", StringComparison.Ordinal)).Distinct().Order());
                Assert.Contains(from, w => w.StartsWith("group/", StringComparison.Ordinal));
                Assert.Contains("wild/w", from);
            }
        }, TimeSpan.FromSeconds(30));
        Assert.Empty(all.Items);
        Assert.Empty(grouped.Items);
        Assert.Empty(wildcard.Items);

        const int n = 300;
        for (var i = 0; i < n; i++) await cluster.Bus(i % 3).PublishAsync("intel.threats", new Threat(i % 10, $"t{i}"));
        // The non-matching topic goes first from the same node: had it been routed to the pattern, it would arrive
        // before "deep" (messages between two nodes keep their order), so the checks below would see it.
        await cluster.Bus(1).PublishAsync("other.threats", new Threat(9, "not-intel"));
        await cluster.Bus(1).PublishAsync("intel.sightings.new", new Threat(9, "deep"));

        await TestWait.UntilAsync(() =>
        {
            for (var i = 0; i < 3; i++) Assert.Equal(n, all.By($"n{i}").Count);
            Assert.Equal(n, grouped.Items.Count);
            Assert.Equal(n + 1, wildcard.Items.Count);
            return Task.CompletedTask;
        });
        // Every node's plain subscriber got every message; the group got each once, spread over its members.
        for (var i = 0; i < 3; i++)
            Assert.Equal(Enumerable.Range(0, n).Select(x => $"t{x}").Order(), all.By($"n{i}").Select(m => m.Payload.Name).Order());
        Assert.Equal(n, grouped.Items.Select(x => x.Message.Payload.Name).Distinct().Count());
        Assert.True(grouped.Items.Select(x => x.Who).Distinct().Count() >= 2, "group members share the messages");
        Assert.Contains(wildcard.Items, x => x.Message.Topic == "intel.sightings.new");
        Assert.DoesNotContain(wildcard.Items, x => x.Message.Topic == "other.threats");

        var metrics = cluster.Bus(0).Metrics;
        Assert.True(metrics.MessagesPublished >= n / 3);
        Assert.Equal(2, metrics.ActiveSubscriptions);
        foreach (var s in subs) await s.DisposeAsync();
        Assert.Equal(0, cluster.Bus(0).Metrics.ActiveSubscriptions);
    }

    [Fact]
    public async Task Bad_input_is_rejected_before_anything_is_sent()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1, "akka.event-driven.bus.max-message-bytes = 1000");
        var bus = cluster.Bus(0);
        foreach (var bad in new[] { "", "  ", "a..b", ".a", "a.", "has space", "semi;colon", "a.*", new string('x', 201) })
            await Assert.ThrowsAsync<ArgumentException>(() => bus.PublishAsync(bad, new Ping(1)));
        await Assert.ThrowsAsync<ArgumentException>(() => bus.SubscribeAsync<Ping>("a.**", (_, _) => Task.CompletedTask));
        await Assert.ThrowsAsync<ArgumentException>(() => bus.EnqueueAsync("q*", new Ping(1)));
        await Assert.ThrowsAsync<UnregisteredMessageTypeException>(() => bus.PublishAsync("ok", new NotRegistered("x")));
        await Assert.ThrowsAsync<UnregisteredMessageTypeException>(() => bus.PublishAsync("ok", new NotRegistered("x"), new PublishOptions { Persistent = true }));
        var tooLarge = await Assert.ThrowsAsync<MessageTooLargeException>(() =>
            bus.PublishAsync("durable.big", new Blob(new string('x', 2000)), new PublishOptions { Persistent = true }));
        Assert.Equal(1000, tooLarge.Limit);
        Assert.Equal(0, await bus.GetMetricsAsync().ContinueWith(t => t.Result.MessagesPublished));
        // nothing was journaled for the rejected durable publish
        Assert.Equal(0, await bus.Store.HeadAsync("EdBusLog-t:durable.big#0"));
    }

    [Fact]
    public async Task A_node_knows_which_topics_may_have_subscribers()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 2);
        var bus0 = cluster.Bus(0);
        Assert.False(bus0.MayHaveSubscribers("somebody.here"));
        await using var local = await bus0.SubscribeAsync<Ping>("somebody.here", (_, _) => Task.CompletedTask);
        Assert.True(bus0.MayHaveSubscribers("somebody.here"));          // this node's own subscription: at once
        await using var remote = await cluster.Bus(1).SubscribeAsync<Ping>("wild.*", (_, _) => Task.CompletedTask);
        await TestWait.UntilAsync(() => { Assert.True(bus0.MayHaveSubscribers("wild.card")); return Task.CompletedTask; });
        Assert.False(bus0.MayHaveSubscribers("tame.card"));
    }

    [Theory]
    [InlineData("intel.*", "intel.threats", true)]
    [InlineData("intel.*", "intel.threats.high", true)]
    [InlineData("intel.*", "intel", false)]
    [InlineData("intel.*.high", "intel.threats.high", true)]
    [InlineData("intel.*.high", "intel.threats.low", false)]
    [InlineData("intel.*.high", "intel.a.b.high", false)]
    [InlineData("*", "anything.at.all", true)]
    [InlineData("a.b", "a.b", true)]
    [InlineData("a.b", "a.bc", false)]
    public void Patterns_match_by_segment(string pattern, string topic, bool matches) =>
        Assert.Equal(matches, TopicNames.Matches(pattern, topic));
}
