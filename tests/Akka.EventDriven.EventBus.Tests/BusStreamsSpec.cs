using System.Collections.Concurrent;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Bus topics as Akka.Streams sources and sinks, with backpressure.</summary>
public sealed class BusStreamsSpec : Akka.TestKit.Xunit2.TestKit
{
    [Fact]
    public async Task A_durable_topic_source_is_backpressured_in_order_and_a_sink_publishes_every_element()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var system = cluster.Nodes[0]!.System;
        var bus = cluster.Bus(0);
        var materializer = system.Materializer();
        var topic = $"stream.in.{Guid.NewGuid():N}";

        // Sink: 50 elements journaled on a durable topic.
        var done = Source.From(Enumerable.Range(1, 50)).Select(i => new Ping(i))
            .RunWith(BusStreams.Publish<Ping>(bus, topic, new PublishOptions { Persistent = true }, parallelism: 4), materializer);
        await done.WaitAsync(TimeSpan.FromSeconds(30));

        // Source: the durable subscription feeds a stream that only asks for a few at a time.
        var (subscription, probe) = BusStreams.Subscribe<Ping>(bus, topic, new SubscriptionOptions { Durable = true, Group = "stream" }, bufferSize: 4)
            .Select(m => m.Payload.N)
            .ToMaterialized(this.SinkProbe<int>(), Keep.Both)
            .Run(materializer);
        await subscription;
        probe.Request(3);
        probe.ExpectNext(1, 2, 3);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // backpressure: nothing beyond demand
        probe.Request(100);
        foreach (var n in Enumerable.Range(4, 47)) probe.ExpectNext(n, TimeSpan.FromSeconds(10));
        Assert.Equal(1, bus.Metrics.ActiveSubscriptions);
        probe.Cancel();
        await AwaitAssertAsync(() => Assert.Equal(0, bus.Metrics.ActiveSubscriptions), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_queue_source_feeds_a_stream_and_an_enqueue_sink_fills_the_queue()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var system = cluster.Nodes[0]!.System;
        var bus = cluster.Bus(0);
        var materializer = system.Materializer();
        var queue = $"stream.q.{Guid.NewGuid():N}";
        var seen = new ConcurrentQueue<int>();
        var (sub, completion) = BusStreams.Consume<Ping>(bus, queue)
            .Select(m => m.Payload.N)
            .ToMaterialized(Sink.ForEach<int>(seen.Enqueue), Keep.Both)
            .Run(materializer);
        await sub;
        await Source.From(Enumerable.Range(1, 30)).Select(i => new Ping(i)).RunWith(BusStreams.Enqueue<Ping>(bus, queue), materializer);
        await AwaitAssertAsync(() => Assert.Equal(Enumerable.Range(1, 30), seen.Order()), TimeSpan.FromSeconds(15));
        await (await sub).DisposeAsync();
    }

    [Fact]
    public async Task A_committable_source_redelivers_what_a_stopped_stream_took_without_committing()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var system = cluster.Nodes[0]!.System;
        var bus = cluster.Bus(0);
        var materializer = system.Materializer();
        var topic = $"stream.commit.{Guid.NewGuid():N}";
        for (var i = 1; i <= 10; i++) await bus.PublishAsync(topic, new Ping(i), new PublishOptions { Persistent = true });
        var options = new SubscriptionOptions { Durable = true, Group = "etl" };

        // The first stream takes three elements, processes none of them, and stops (a crash, as far as the bus can tell).
        var taken = await BusStreams.CommittableSubscribe<Ping>(bus, topic, options, bufferSize: 8)
            .Take(3)
            .RunWith(Sink.Seq<CommittableBusMessage<Ping>>(), materializer)
            .WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([1, 2, 3], taken.Select(m => m.Message.Payload.N));
        await AwaitAssertAsync(() => Assert.Equal(0, bus.Metrics.ActiveSubscriptions), TimeSpan.FromSeconds(10));

        // A new source of the group gets them again, and everything after them, committing as it goes.
        var seen = new ConcurrentQueue<int>();
        var (sub, done) = BusStreams.CommittableSubscribe<Ping>(bus, topic, options)
            .Select(m => { seen.Enqueue(m.Message.Payload.N); m.Commit(); return m.Message.Payload.N; })
            .TakeWhile(n => n < 10)
            .ToMaterialized(Sink.Ignore<int>(), Keep.Both)
            .Run(materializer);
        await sub;
        await done.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(1, 10), seen);

        // What was committed is acknowledged: a third source starts after it.
        await AwaitAssertAsync(() => Assert.Equal(0, bus.Metrics.ActiveSubscriptions), TimeSpan.FromSeconds(10));
        await TestWait.UntilAsync(async () => Assert.Equal(0, (await bus.GetMetricsAsync()).SubscriptionLag), TimeSpan.FromSeconds(30));
        await bus.PublishAsync(topic, new Ping(11), new PublishOptions { Persistent = true });
        var next = await BusStreams.CommittableSubscribe<Ping>(bus, topic, options).Take(1)
            .RunWith(Sink.First<CommittableBusMessage<Ping>>(), materializer).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(11, next.Message.Payload.N);
    }
}
