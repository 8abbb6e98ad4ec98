using System.Collections.Concurrent;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Retries with backoff, dead-letter queues, replay; nothing lost among thousands of messages with some poison.</summary>
public sealed class PoisonSpec
{
    [Fact]
    public async Task A_poison_message_is_retried_max_retries_times_with_growing_delays_then_dead_lettered_and_can_be_replayed()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.Best(), 1);
        var bus = cluster.Bus(0);
        var dlq = $"dlq-{Guid.NewGuid():N}";
        var attempts = new ConcurrentQueue<(int Attempt, DateTime At)>();
        var healed = false;
        var delivered = new ConcurrentQueue<int>();
        await using var sub = await bus.SubscribeAsync<Ping>("alerts.raised", (m, _) =>
        {
            if (m.Payload.N == 13 && !healed)
            {
                attempts.Enqueue((m.Attempt, DateTime.UtcNow));
                throw new InvalidOperationException("cannot parse alert 13");
            }
            delivered.Enqueue(m.Payload.N);
            return Task.CompletedTask;
        }, new SubscriptionOptions { MaxRetries = 3, RetryBackoff = TimeSpan.FromMilliseconds(100), DeadLetterQueue = dlq });

        // SubscribeAsync completes once the subscription is registered with this node's mediator, so on one node a
        // single publish reaches it: wait for that delivery (no warm-up loop needed).
        await bus.PublishAsync("alerts.raised", new Ping(1));
        await TestWait.UntilAsync(() => { Assert.Equal([1], delivered); return Task.CompletedTask; });
        await bus.PublishAsync("alerts.raised", new Ping(13));
        var queue = bus.DeadLetters(dlq);
        await TestWait.UntilAsync(async () => Assert.Equal(1, await queue.CountAsync()));

        Assert.Equal([1, 2, 3, 4], attempts.Select(a => a.Attempt)); // the first attempt and exactly 3 retries
        var gaps = attempts.Zip(attempts.Skip(1), (a, b) => (b.At - a.At).TotalMilliseconds).ToArray();
        Assert.True(gaps[0] >= 70 && gaps[2] > gaps[0] * 2, $"backoff grows: {string.Join(", ", gaps.Select(g => (int)g))} ms");

        var letter = Assert.Single(await queue.ListAsync());
        Assert.Equal("alerts.raised", letter.OriginalTopic);
        Assert.Equal(4, letter.Attempts);
        Assert.Contains("cannot parse alert 13", letter.Reason);
        Assert.Equal(DeadLetterSource.Topic, letter.Source);
        Assert.Contains("\"n\":13", letter.Json.Replace(" ", "").ToLowerInvariant());
        Assert.Equal(1, bus.Metrics.MessagesDeadLettered);
        Assert.Equal(3, bus.Metrics.Retries);

        healed = true;
        Assert.True(await queue.ReplayAsync(letter.Id));
        await TestWait.UntilAsync(() => { Assert.Contains(13, delivered); return Task.CompletedTask; });
        Assert.Equal(0, await queue.CountAsync());
        Assert.False(await queue.ReplayAsync(letter.Id));
    }

    [Fact]
    public async Task No_message_is_lost_among_thousands_on_a_durable_topic_with_some_poison()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.Best(), 1);
        var bus = cluster.Bus(0);
        var topic = $"feed.{Guid.NewGuid():N}";
        var dlq = $"dlq-{Guid.NewGuid():N}";
        var ok = new ConcurrentDictionary<int, int>();
        await using var sub = await bus.SubscribeAsync<Ping>(topic, (m, _) =>
        {
            if (m.Payload.N % 250 == 7) throw new FormatException($"poison {m.Payload.N}");
            ok.AddOrUpdate(m.Payload.N, 1, (_, c) => c + 1);
            return Task.CompletedTask;
        }, new SubscriptionOptions { Durable = true, MaxRetries = 1, RetryBackoff = TimeSpan.FromMilliseconds(1), DeadLetterQueue = dlq,
            DeduplicationWindow = TimeSpan.FromMinutes(1) });

        const int total = 2000;
        await Task.WhenAll(Enumerable.Range(0, total).Select(i => bus.PublishAsync(topic, new Ping(i), new PublishOptions { Persistent = true })));
        var queue = bus.DeadLetters(dlq);
        await TestWait.UntilAsync(async () => Assert.Equal(total, ok.Count + await queue.CountAsync()), TimeSpan.FromSeconds(60));
        Assert.Equal(total / 250, await queue.CountAsync());
        Assert.All(ok.Values, c => Assert.Equal(1, c));
        var letters = await queue.ListAsync(100);
        Assert.All(letters, l => Assert.Equal(DeadLetterSource.Durable, l.Source));
        Assert.Equal(total / 250, await queue.PurgeAsync());
        Assert.Equal(0, await queue.CountAsync());
    }

    [Fact]
    public async Task A_queue_message_of_a_type_its_consumer_does_not_handle_is_dead_lettered_not_lost()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var bus = cluster.Bus(0);
        var queue = $"typed.{Guid.NewGuid():N}";
        var dlq = $"dlq-{Guid.NewGuid():N}";
        var pings = new ConcurrentQueue<int>();
        await using var consumer = await bus.ConsumeAsync<Ping>(queue, (m, _) => { pings.Enqueue(m.Payload.N); return Task.CompletedTask; },
            new SubscriptionOptions { DeadLetterQueue = dlq });
        await bus.EnqueueAsync(queue, new Threat(9, "wrong type"));
        await bus.EnqueueAsync(queue, new Ping(1));
        await TestWait.UntilAsync(async () =>
        {
            Assert.Equal([1], pings);
            var letter = Assert.Single(await bus.DeadLetters(dlq).ListAsync());
            Assert.Contains("Type mismatch", letter.Reason);
            Assert.Equal(DeadLetterSource.Queue, letter.Source);
        });
    }
}
