using System.Collections.Concurrent;
using Akka.EventDriven.EventBus.Internal;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Issue 11 #4: a journaled message that cannot be read is dead-lettered with its bytes and the error, not skipped.</summary>
public sealed class UnreadableLogEntrySpec
{
    public static TheoryData<string> Stores => new() { "sqlite", "postgresql" };

    private static TestStore StoreFor(string kind) => kind == "sqlite" ? TestStore.NewSqlite() : TestStore.PostgreSql();

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task An_unreadable_durable_message_is_dead_lettered_with_its_bytes_and_the_error_and_can_be_replayed(string kind)
    {
        await using var cluster = await BusCluster.StartAsync(StoreFor(kind), 1);
        var bus = cluster.Bus(0);
        var topic = $"unreadable.{Guid.NewGuid():N}";
        var dlq = $"dlq-{Guid.NewGuid():N}";
        for (var i = 1; i <= 3; i++) await bus.PublishAsync(topic, new Ping(i), new PublishOptions { Persistent = true, MessageId = $"m{i}" });

        // Row 2 was written by a node with a newer envelope version this node cannot read; row 3 is damaged.
        var pid = PersistenceIds.For(BusLog.AggregateName, BusNames.TopicLog(topic, 0));
        await using (var connection = bus.Store.Settings.CreateConnection())
        {
            await connection.OpenAsync();
            await using var rename = connection.CreateCommand();
            rename.CommandText = "UPDATE event_journal SET manifest = 'bus.message.v9' WHERE persistence_id = @pid AND sequence_nr = 2";
            rename.AddParameter("pid", pid);
            Assert.Equal(1, await rename.ExecuteNonQueryAsync());
            await using var damage = connection.CreateCommand();
            damage.CommandText = "UPDATE event_journal SET payload = @payload WHERE persistence_id = @pid AND sequence_nr = 3";
            damage.AddParameter("pid", pid);
            damage.AddParameter("payload", new byte[] { 0xff, 0x00, 0x7b, 0x01 });
            Assert.Equal(1, await damage.ExecuteNonQueryAsync());
        }

        var seen = new ConcurrentQueue<int>();
        await using var sub = await bus.SubscribeAsync<Ping>(topic, (m, _) => { seen.Enqueue(m.Payload.N); return Task.CompletedTask; },
            new SubscriptionOptions { Durable = true, DeadLetterQueue = dlq });
        var queue = bus.DeadLetters(dlq);
        await TestWait.UntilAsync(async () => Assert.Equal(2, await queue.CountAsync()), TimeSpan.FromSeconds(30));
        Assert.Equal([1], seen);

        var letters = await queue.ListAsync();
        Assert.All(letters, l => Assert.Equal(DeadLetterSource.Durable, l.Source));
        Assert.All(letters, l => Assert.Equal(topic, l.OriginalTopic));
        var newer = letters.Single(l => l.MessageId == "m2");
        Assert.Contains("bus.message.v9", newer.Reason);
        Assert.Equal("test.ping.v1", newer.Type);
        Assert.Contains("\"n\":2", newer.Json.Replace(" ", "").ToLowerInvariant());
        var damaged = letters.Single(l => l.MessageId != "m2");
        Assert.Contains("unreadable", damaged.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(Convert.ToBase64String([0xff, 0x00, 0x7b, 0x01]), damaged.Json);

        // Once the node can read it, the dead letter is delivered again.
        Assert.True(await queue.ReplayAsync(newer.Id));
        await TestWait.UntilAsync(() => { Assert.Contains(2, seen); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));
    }
}
