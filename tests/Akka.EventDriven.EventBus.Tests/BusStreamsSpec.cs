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
}
