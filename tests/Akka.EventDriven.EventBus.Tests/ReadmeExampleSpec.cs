#region usings
using Akka;
using Akka.EventDriven.EventBus;
using Akka.Streams.Dsl;
#endregion
using System.Collections.Concurrent;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>The README's event bus example (region event-bus, checked against the README by ReadmeSnippetsSpec), run on
/// one node: the messages arrive, alert 13 is dead-lettered and its replay handles it.</summary>
public sealed class ReadmeExampleSpec
{
    [Fact]
    public async Task The_readme_example_runs()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var system = cluster.Nodes[0]!.System;
        var handled = new ConcurrentQueue<object>();
        var alert13Attempts = 0;
        Task Handle(object payload, CancellationToken ct)
        {
            // Alert 13 fails its first delivery and its 3 retries, so it is dead-lettered; only a replay can succeed.
            if (payload is Ping { N: 13 } && Interlocked.Increment(ref alert13Attempts) <= 4)
                return Task.FromException(new InvalidOperationException("cannot handle alert 13"));
            handled.Enqueue(payload);
            return Task.CompletedTask;
        }
        static Task WaitUntilAsync(Func<Task<bool>> condition) =>
            TestWait.UntilAsync(async () => Assert.True(await condition()), TimeSpan.FromSeconds(30));

        #region event-bus
        var bus = MessageBus.Get(system);

        // Topics (fast path, at-most-once): every subscriber on every node; a group shares the messages; patterns.
        await using var all = await bus.SubscribeAsync<Threat>("intel.threats", async (m, ct) => await Handle(m.Payload, ct));
        await using var shared = await bus.SubscribeAsync<Threat>("intel.threats", (m, ct) => Handle(m.Payload, ct),
            new SubscriptionOptions { Group = "analysts" });                       // one member of the group gets each message
        await using var wide = await bus.SubscribeAsync<Threat>("intel.*", (m, ct) => Handle(m.Payload, ct)); // intel.a, intel.a.b
        await bus.PublishAsync("intel.threats", new Threat(9, "APT29"));

        // Durable topics: the publish returns once journaled; each group has a stored offset and gets every message
        // at least once, in order per partition, including those published while it was down.
        PublishReceipt receipt = await bus.PublishAsync("cases.opened", new Ping(1),
            new PublishOptions { Persistent = true, PartitionKey = "case-7" });   // receipt.Partition, receipt.Sequence
        await using var audit = await bus.SubscribeAsync<Ping>("cases.opened", (m, ct) => Handle(m.Payload, ct),
            new SubscriptionOptions { Durable = true, Group = "audit" });

        // Queues: journaled; each message goes to one consumer at a time; redelivered if that consumer dies first.
        await bus.EnqueueAsync("work.enrich", new Ping(2));
        await using var worker = await bus.ConsumeAsync<Ping>("work.enrich", (m, ct) => Handle(m.Payload, ct));

        // Retries with exponential backoff (jitter, cap), then a dead-letter queue; deduplication by message id.
        await using var careful = await bus.SubscribeAsync<Ping>("alerts.raised", (m, ct) => Handle(m.Payload, ct), new SubscriptionOptions
        {
            Guarantee = DeliveryGuarantee.AtLeastOnce, MaxRetries = 3, RetryBackoff = TimeSpan.FromMilliseconds(100),
            DeadLetterQueue = "alerts-dlq", DeduplicationWindow = TimeSpan.FromMinutes(10),
        });
        await bus.PublishAsync("alerts.raised", new Ping(13));                // Handle fails on it: 1 attempt + 3 retries
        DeadLetterQueue dlq = bus.DeadLetters("alerts-dlq");
        await WaitUntilAsync(async () => await dlq.CountAsync() > 0);         // then it is in the dead-letter queue
        foreach (DeadLetter letter in await dlq.ListAsync())   // reason, attempts, original topic, payload JSON
            await dlq.ReplayAsync(letter.Id);                   // back to its topic or queue
        await dlq.PurgeAsync();

        // Request-reply across nodes: one handler of each group answers.
        await using var quotes = await bus.HandleRequestsAsync<Ping, Pong>("pricing.quote", (p, ct) => Task.FromResult(new Pong(p.N * 2, "n1")));
        Pong pong = await bus.RequestAsync<Pong>("pricing.quote", new Ping(21), TimeSpan.FromSeconds(5));
        // TimeoutException naming the subject; RequestFailedException carrying the handler's exception

        BusMetricsSnapshot metrics = await bus.GetMetricsAsync(); // published, delivered, active subscriptions,
        // dead-lettered, retries, dropped, queue depth / subscription lag; also meter "Akka.EventDriven.EventBus"

        // As Akka.Streams stages for pipelines (backpressure reaches the subscription; cancelling the stream unsubscribes).
        // Subscribe/Consume acknowledge on buffer entry (at-most-once); CommittableSubscribe/CommittableConsume acknowledge
        // when the stream calls Commit() on the element (at-least-once: uncommitted elements are redelivered).
        Source<BusMessage<Threat>, Task<IBusSubscription>> threats = BusStreams.Subscribe<Threat>(bus, "intel.threats");
        Sink<Threat, Task<Done>> analyzed = BusStreams.Publish<Threat>(bus, "analyzed.threats");
        #endregion

        // The dead-letter loop saw alert 13 and replayed it: the 5th handling (after 4 failed attempts) comes only from
        // that replay, and it succeeds.
        await TestWait.UntilAsync(() => { Assert.Contains(handled, p => p is Ping { N: 13 }); return Task.CompletedTask; });
        Assert.Equal(5, Volatile.Read(ref alert13Attempts));
        Assert.Equal(0, await dlq.CountAsync());
        Assert.Equal(1, bus.Metrics.MessagesDeadLettered);
        Assert.Equal(42, pong.N);
        Assert.Equal(1, receipt.Sequence);
        await TestWait.UntilAsync(() =>
        {
            Assert.Contains(handled, p => p is Ping { N: 1 });
            Assert.Contains(handled, p => p is Ping { N: 2 });
            return Task.CompletedTask;
        });
        Assert.True(metrics.ActiveSubscriptions >= 6);
        Assert.NotNull(threats);
        Assert.NotNull(analyzed);
    }
}
