using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.EventDriven.EventBus.Internal;
using Akka.EventDriven.EventSourcing.Tests;
using Xunit.Abstractions;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>A durable topic's consumers are sharded entities: when a node joins, the coordinator moves some of them to
/// it. A consumer handed off mid-stream must not hand its successor anything its members already handled: the
/// successor may choose another member as the active one, and a deduplicating subscription then handles it twice.</summary>
public sealed class HandOffSpec(ITestOutputHelper output)
{
    private const int Partitions = 16;

    [Fact]
    public async Task A_consumer_moved_by_a_rebalance_under_load_redelivers_nothing_already_handled_to_another_member()
    {
        var topic = $"moving.{Guid.NewGuid():N}";
        var hocon = $"akka.cluster.sharding.rebalance-interval = 500ms\n" +
                    $"akka.event-driven.bus.durable.topics {{ \"{topic}\" {{ partitions = {Partitions} }} }}";
        await using var cluster = await BusCluster.StartAsync(TestStore.PostgreSql(), 1, hocon);
        var handled = new ConcurrentQueue<(int Node, int N)>();
        var options = new SubscriptionOptions { Durable = true, Group = "moving", DeduplicationWindow = TimeSpan.FromHours(1) };
        Func<BusMessage<Ping>, CancellationToken, Task> HandlerOn(int node) => async (m, ct) =>
        {
            // Real work, not a timer: slow enough (1 ms of a thread's time) that deliveries are in flight when a
            // consumer moves, and bounded in wall time whatever the load (a fixed number of spins takes many times
            // longer on a machine whose cores are busy).
            await Task.Run(() =>
            {
                var work = System.Diagnostics.Stopwatch.StartNew();
                while (work.Elapsed < TimeSpan.FromMilliseconds(1)) Thread.SpinWait(50);
            }, ct);
            handled.Enqueue((node, m.Payload.N));
        };
        await using var first = await cluster.Bus(0).SubscribeAsync(topic, HandlerOn(0), options);

        // Publish steadily from node 0 while node 1 joins, subscribes, and takes over some of the consumers.
        using var stop = new CancellationTokenSource();
        // Jepsen-style: a publish that timed out is indeterminate (it may or may not be journaled); it must not be
        // handled twice either, but only the acknowledged ones must be handled.
        var published = 0;
        var acknowledged = new ConcurrentDictionary<int, bool>();
        var indeterminate = new ConcurrentDictionary<int, bool>();
        var publisher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var batch = Enumerable.Range(published, 20).Select(async n =>
                {
                    try
                    {
                        await cluster.Bus(0).PublishAsync(topic, new Ping(n), new PublishOptions { Persistent = true, PartitionKey = $"k{n % 64}" });
                        acknowledged[n] = true;
                    }
                    catch (TimeoutException)
                    {
                        indeterminate[n] = true;
                    }
                });
                await Task.WhenAll(batch);
                Interlocked.Add(ref published, 20);
            }
        });
        await TestWait.UntilAsync(() => { Assert.True(handled.Count > 200, $"{handled.Count} handled"); return Task.CompletedTask; },
            TimeSpan.FromSeconds(30));

        await cluster.AddNodeAsync(extraHocon: hocon);
        await cluster.WaitUpAsync();
        await using var second = await cluster.Bus(1).SubscribeAsync(topic, HandlerOn(1), options);
        var region = ClusterSharding.Get(cluster.Nodes[1]!.System).ShardRegion("EdBusConsumer");
        await TestWait.UntilAsync(async () =>
        {
            var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
            Assert.Contains(state.Shards, s => s.EntityIds.Any(id => id.Contains(topic, StringComparison.Ordinal)));
        }, TimeSpan.FromSeconds(60));
        var movedAt = published;
        await TestWait.UntilAsync(async () =>
        {
            if (publisher.IsFaulted) await publisher; // a publish that failed fails the test with its error
            Assert.True(published > movedAt + 400, $"{published - movedAt} published since the move");
        }, TimeSpan.FromSeconds(90));
        await stop.CancelAsync();
        await publisher;

        // The backlog left when publishing stops depends on how fast a loaded machine handled it: wait while handling
        // goes on; handling that stops with acknowledged messages unhandled is the failure.
        await TestWait.UntilWhileProgressingAsync(() =>
        {
            var seen = handled.Select(h => h.N).ToHashSet();
            var missing = acknowledged.Keys.Where(n => !seen.Contains(n)).ToList();
            Assert.True(missing.Count == 0, $"{missing.Count} acknowledged messages not handled yet, first {missing.FirstOrDefault()}");
            return Task.CompletedTask;
        }, () => handled.Count, stall: TimeSpan.FromSeconds(30));
        Assert.All(handled, h => Assert.True(acknowledged.ContainsKey(h.N) || indeterminate.ContainsKey(h.N), $"{h.N} was never published"));
        output.WriteLine($"{published} published ({indeterminate.Count} timed out during the hand-off of their log), {handled.Count} handled, " +
                         $"{handled.Count(h => h.Node == 1)} of them on the node that joined");
        var twice = handled.GroupBy(h => h.N).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key} on nodes {string.Join("+", g.Select(h => h.Node))}").ToList();
        Assert.True(twice.Count == 0, $"{twice.Count} of {published} messages handled twice after the hand-off: {string.Join(", ", twice.Take(10))}");
    }
}

/// <summary>The member side of a hand-off: what a revoke gives back, and that a delivery is handled once however many
/// consumer incarnations revoke and resend it.</summary>
public sealed class HeldDeliveriesSpec : Akka.TestKit.Xunit2.TestKit
{
    private static Deliver Copy(long seq, IActorRef from) =>
        new Deliver("t:x#0|g", seq, 1, new BusEnvelope("id-" + seq, "x", "test.ping.v1", [], 0, null, null)) { From = from };

    [Fact]
    public void A_delivery_revoked_twice_by_successive_consumers_is_started_once_and_only_the_newest_copy_runs()
    {
        var held = new HeldDeliveries(1024);
        var (first, second, third) = (CreateTestProbe().Ref, CreateTestProbe().Ref, CreateTestProbe().Ref);
        var original = Copy(5, first);
        Assert.Equal(HeldDeliveries.Admission.New, held.Admit(original));
        Assert.Equal(HeldDeliveries.Admission.Held, held.Admit(Copy(5, first))); // a resend while it is held: dropped
        Assert.Empty(held.Revoke("t:x#0|g", [5], second));                     // only the consumer that sent it may revoke
        Assert.Equal([5L], held.Revoke("t:x#0|g", [5], first));
        var fromSecond = Copy(5, second);
        Assert.Equal(HeldDeliveries.Admission.New, held.Admit(fromSecond));       // the successor's copy, behind the original
        Assert.Equal([5L], held.Revoke("t:x#0|g", [5], second));                 // the successor is handed off too
        var fromThird = Copy(5, third);
        Assert.Equal(HeldDeliveries.Admission.New, held.Admit(fromThird));

        // The handler loop reaches the three buffered instances in order: only the current one runs.
        Assert.False(held.TryStart(original));
        Assert.False(held.TryStart(fromSecond));
        Assert.True(held.TryStart(fromThird));
        Assert.Empty(held.Revoke("t:x#0|g", [5], third));                         // started: finished, not given back
        held.Acknowledged("t:x#0|g", [5]);
        Assert.Equal(HeldDeliveries.Admission.Acknowledged, held.Admit(Copy(5, third)));
    }
}
