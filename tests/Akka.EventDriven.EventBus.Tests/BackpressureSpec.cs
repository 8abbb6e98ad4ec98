using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>A slow fast-path subscriber keeps a bounded buffer with its stated overflow policy; metrics are exported.</summary>
public sealed class BackpressureSpec(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [InlineData(OverflowPolicy.DropOldest)]
    [InlineData(OverflowPolicy.DropNewest)]
    public async Task A_slow_subscriber_buffers_at_most_its_buffer_size_and_counts_what_it_drops(OverflowPolicy policy)
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var bus = cluster.Bus(0);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handled = new ConcurrentQueue<int>();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var beyondTheBuffer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); // a 12th message: must not happen
        await using var sub = await bus.SubscribeAsync<Ping>("slow.topic", async (m, _) =>
        {
            first.TrySetResult();
            await gate.Task;
            handled.Enqueue(m.Payload.N);
            if (handled.Count > 11) beyondTheBuffer.TrySetResult();
        }, new SubscriptionOptions { BufferSize = 10, Overflow = policy });

        await bus.PublishAsync("slow.topic", new Ping(0));
        await first.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the handler now holds message 0
        for (var i = 1; i <= 1000; i++) await bus.PublishAsync("slow.topic", new Ping(i));
        await TestWait.UntilAsync(() => { Assert.Equal(990, bus.Metrics.MessagesDropped); return Task.CompletedTask; });

        gate.SetResult();
        await TestWait.UntilAsync(() => { Assert.Equal(11, handled.Count); return Task.CompletedTask; });
        // Absence check: the held message and the 10 buffered ones are all there is; a 12th delivery must not happen.
        await TestWait.NeverWithinAsync(() => beyondTheBuffer.Task.IsCompleted, TimeSpan.FromSeconds(1),
            () => $"more than the held message and a buffer of 10 were delivered: {string.Join(", ", handled)}");
        var expected = policy == OverflowPolicy.DropOldest ? Enumerable.Range(991, 10) : Enumerable.Range(1, 10);
        Assert.Equal(new[] { 0 }.Concat(expected), handled);
    }

    [Theory]
    [InlineData(true, 20_000)]   // PublishAsync waits beyond about 8k behind
    [InlineData(false, 160_000)] // Publish (no task to wait on) drops beyond about 128k behind
    public async Task Publishers_faster_than_the_pub_sub_mediator_are_held_back_so_its_mailbox_stays_bounded(bool withTask, int bound)
    {
        // A fast-path publish is a Tell to the node's pub-sub mediator, whose mailbox is unbounded: publishers that
        // outrun it (tight loops on a busy machine) grew it, and the process, without bound (a benchmark reached 23 GB
        // and was killed).
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var bus = cluster.Bus(0);
        var mediator = (ActorRefWithCell)DistributedPubSub.Get(cluster.Nodes[0]!.System).Mediator;
        var handled = 0L;
        await using var sub = await bus.SubscribeAsync<Ping>("flood", (_, _) => { Interlocked.Increment(ref handled); return Task.CompletedTask; });

        var deepest = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        // Sampled from a thread of its own: the publishers may hold every thread-pool thread.
        var sampler = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                deepest = Math.Max(deepest, mediator.Underlying.NumberOfMessages);
                if (deepest > 3 * bound) stop.Cancel(); // clearly unbounded: stop before the flood takes the machine's memory
                stop.Token.WaitHandle.WaitOne(5); // the next sample, or the end of the run
            }
        }) { IsBackground = true };
        sampler.Start();
        var published = 0L;
        var publishers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (withTask) await bus.PublishAsync("flood", new Ping(1));
                else bus.Publish("flood", new Ping(1));
                Interlocked.Increment(ref published);
            }
        })).ToArray();
        await Task.WhenAll(publishers);
        sampler.Join();

        output.WriteLine($"deepest mailbox {deepest:N0}, {published:N0} published in 3 s, {bus.Metrics.MessagesDropped:N0} dropped");
        Assert.True(deepest <= bound, $"the mediator's mailbox reached {deepest:N0} messages ({published:N0} published)");
        Assert.True(published > 10_000, $"only {published:N0} published in 3 s: the publishers were held back too hard");
        if (withTask) Assert.Equal(0, bus.Metrics.MessagesDropped); // it waits, it never drops
        await TestWait.UntilAsync(() => { Assert.Equal(0, mediator.Underlying.NumberOfMessages); return Task.CompletedTask; });
    }

    [Fact]
    public async Task A_flood_of_publishes_without_a_task_does_not_starve_a_publisher_that_waits()
    {
        // Publish (no task) keeps going until the mediator is about 128k behind; PublishAsync waits beyond about 8k.
        // Under such a flood a waiting publisher must still get through (it waits one interval, then publishes).
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var bus = cluster.Bus(0);
        await using var sub = await bus.SubscribeAsync<Ping>("flood", (_, _) => Task.CompletedTask);
        using var stop = new CancellationTokenSource();
        var flood = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested) bus.Publish("flood", new Ping(1));
        })).ToArray();
        try
        {
            // The flood has the mediator at its limit (it has started to drop) before the waiting publisher starts.
            await TestWait.UntilAsync(() => { Assert.True(bus.Metrics.MessagesDropped > 0); return Task.CompletedTask; });
            var patient = Task.Run(async () =>
            {
                for (var i = 0; i < 20; i++) await bus.PublishAsync("flood", new Ping(2));
            });
            await patient.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(flood);
        }
        output.WriteLine($"{bus.Metrics.MessagesDropped:N0} dropped by the flood meanwhile");
    }

    [Fact]
    public async Task Metrics_are_exported_as_System_Diagnostics_Metrics_instruments()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var bus = cluster.Bus(0);
        var handled = 0;
        await using var sub = await bus.SubscribeAsync<Ping>("metered", (_, _) => { Interlocked.Increment(ref handled); return Task.CompletedTask; });
        for (var i = 0; i < 25; i++) await bus.PublishAsync("metered", new Ping(i));
        await TestWait.UntilAsync(() => { Assert.Equal(25, handled); return Task.CompletedTask; });

        var seen = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Akka.EventDriven.EventBus") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == "actor_system" && (string?)tag.Value == cluster.Nodes[0]!.System.Name)
                    seen.AddOrUpdate(instrument.Name, value, (_, v) => Math.Max(v, value));
        });
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => seen.AddOrUpdate(instrument.Name, value, (_, v) => Math.Max(v, value)));
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.True(seen["eventbus.messages.published"] >= 25);
        Assert.True(seen["eventbus.messages.delivered"] >= 25);
        Assert.True(seen["eventbus.subscriptions.active"] >= 1);
        var snapshot = bus.Metrics;
        Assert.Equal(25, snapshot.MessagesPublished);
        Assert.Equal(25, snapshot.MessagesDelivered);
        Assert.Equal(1, snapshot.ActiveSubscriptions);
    }
}
