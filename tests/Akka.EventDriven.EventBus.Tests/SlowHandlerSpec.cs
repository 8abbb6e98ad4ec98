using System.Collections.Concurrent;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Issue 11 #6: a handler slower than the visibility timeout is not flooded with duplicates.</summary>
public sealed class SlowHandlerSpec
{
    [Fact]
    public async Task A_handler_slower_than_the_visibility_timeout_handles_each_message_once()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1,
            "akka.event-driven.bus.durable { visibility-timeout = 1s, heartbeat-interval = 200ms }");
        var bus = cluster.Bus(0);
        var topic = $"slow.{Guid.NewGuid():N}";
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = new ConcurrentDictionary<int, int>();
        await using var sub = await bus.SubscribeAsync<Ping>(topic, async (m, ct) =>
        {
            calls.AddOrUpdate(m.Payload.N, 1, (_, c) => c + 1);
            if (m.Payload.N == 1) await gate.Task.WaitAsync(ct);
        }, new SubscriptionOptions { Durable = true, HandlerTimeout = TimeSpan.FromMinutes(2) });
        for (var i = 1; i <= 5; i++) await bus.PublishAsync(topic, new Ping(i), new PublishOptions { Persistent = true });

        // The consumer presumes the deliveries lost several times while the handler is stuck on message 1.
        await TestWait.UntilAsync(() => { Assert.True(bus.Metrics.Redeliveries >= 10, $"{bus.Metrics.Redeliveries}"); return Task.CompletedTask; },
            TimeSpan.FromSeconds(60));
        gate.SetResult();
        await bus.PublishAsync(topic, new Ping(99), new PublishOptions { Persistent = true });
        await TestWait.UntilAsync(() => { Assert.True(calls.ContainsKey(99)); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));
        await TestWait.UntilAsync(async () => Assert.Equal(0, (await bus.GetMetricsAsync()).SubscriptionLag), TimeSpan.FromSeconds(30));
        Assert.All(Enumerable.Range(1, 5), n => Assert.Equal(1, calls[n]));
    }

    [Fact]
    public void The_default_handler_timeout_is_shorter_than_the_visibility_timeout()
    {
        var settings = BusSettings.FromConfig(EventBusConfig.DefaultConfig());
        Assert.True(settings.HandlerTimeout < settings.VisibilityTimeout, $"{settings.HandlerTimeout} vs {settings.VisibilityTimeout}");
        var tight = BusSettings.FromConfig(Akka.Configuration.ConfigurationFactory.ParseString("akka.event-driven.bus.durable.visibility-timeout = 4s")
            .WithFallback(EventBusConfig.DefaultConfig()));
        Assert.True(tight.HandlerTimeout < tight.VisibilityTimeout, $"{tight.HandlerTimeout} vs {tight.VisibilityTimeout}");
        Assert.Throws<Akka.Configuration.ConfigurationException>(() => BusSettings.FromConfig(Akka.Configuration.ConfigurationFactory
            .ParseString("akka.event-driven.bus.durable { visibility-timeout = 4s, handler-timeout = 5s }").WithFallback(EventBusConfig.DefaultConfig())));
    }
}
