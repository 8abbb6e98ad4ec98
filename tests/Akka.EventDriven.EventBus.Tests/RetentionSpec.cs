using System.Collections.Concurrent;
using Akka.EventDriven.EventBus.Internal;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Issue 11 #12: durable topic logs are truncated by a retention limit (off by default), never past the
/// slowest subscription group.</summary>
public sealed class RetentionSpec
{
    public static TheoryData<string> Stores => new() { "sqlite", "postgresql" };

    private static TestStore StoreFor(string kind) => kind == "sqlite" ? TestStore.NewSqlite() : TestStore.PostgreSql();

    private static async Task<(long Min, long Count)> RowsAsync(MessageBus bus, string topic)
    {
        await using var connection = bus.Store.Settings.CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MIN(sequence_nr), 0), COUNT(*) FROM event_journal WHERE persistence_id = @pid";
        command.AddParameter("pid", PersistenceIds.For(BusLog.AggregateName, BusNames.TopicLog(topic, 0)));
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (Convert.ToInt64(reader.GetValue(0)), Convert.ToInt64(reader.GetValue(1)));
    }

    /// <summary>What retention decides on, for a failure message: the log's rows (sequence number, age in ms by the
    /// database clock) and every stored offset of its consumers.</summary>
    private static async Task<string> RetentionStateAsync(MessageBus bus, string topic)
    {
        var logId = BusNames.TopicLog(topic, 0);
        await using var connection = bus.Store.Settings.CreateConnection();
        await connection.OpenAsync();
        var parts = new List<string>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT sequence_nr, {(bus.Store.Settings.Provider == StoreProvider.PostgreSql ? "created_at" : "timestamp")} FROM event_journal WHERE persistence_id = @pid ORDER BY sequence_nr";
            command.AddParameter("pid", PersistenceIds.For(BusLog.AggregateName, logId));
            await using var reader = await command.ExecuteReaderAsync();
            var now = DateTime.UtcNow.Ticks;
            var rows = new List<string>();
            while (await reader.ReadAsync())
                rows.Add($"{reader.GetInt64(0)}@{(now - Convert.ToInt64(reader.GetValue(1))) / TimeSpan.TicksPerMillisecond}ms");
            parts.Add("rows (seq@age): " + string.Join(" ", rows));
        }
        await using (var command = connection.CreateCommand())
        {
            var prefix = BusNames.Consumer(logId, "");
            command.CommandText = "SELECT consumer_id, sequence_nr FROM bus_offsets WHERE substr(consumer_id, 1, @n) = @prefix";
            command.AddParameter("n", prefix.Length);
            command.AddParameter("prefix", prefix);
            await using var reader = await command.ExecuteReaderAsync();
            var offsets = new List<string>();
            while (await reader.ReadAsync()) offsets.Add($"{reader.GetString(0)[prefix.Length..]}={Convert.ToInt64(reader.GetValue(1))}");
            parts.Add("offsets: " + string.Join(" ", offsets));
        }
        return string.Join("; ", parts);
    }

    private static async Task<IBusSubscription> ConsumeAsync(MessageBus bus, string topic, string group, ConcurrentQueue<int> seen) =>
        await bus.SubscribeAsync<Ping>(topic, (m, _) => { seen.Enqueue(m.Payload.N); return Task.CompletedTask; },
            new SubscriptionOptions { Durable = true, Group = group });

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Retention_keeps_the_newest_messages_but_never_deletes_what_the_slowest_group_has_not_acknowledged(string kind)
    {
        await using var cluster = await BusCluster.StartAsync(StoreFor(kind), 1,
            "akka.event-driven.bus.durable.retention { max-messages = 5, interval = 200ms }");
        var bus = cluster.Bus(0);
        Assert.Equal(5, bus.Settings.RetentionMaxMessages);
        var topic = $"retained.{Guid.NewGuid():N}";
        var persistent = new PublishOptions { Persistent = true };

        // Two groups: the slow one reads 10 messages and stops, the fast one reads all 40. Retention (5 kept) would cut
        // to 35, but stops at the slow group's offset.
        var fast = new ConcurrentQueue<int>();
        var slow = new ConcurrentQueue<int>();
        await using (await ConsumeAsync(bus, topic, "fast", fast))
        {
            var slowSub = await ConsumeAsync(bus, topic, "slow", slow);
            for (var i = 1; i <= 10; i++) await bus.PublishAsync(topic, new Ping(i), persistent);
            await TestWait.UntilAsync(async () => Assert.Equal(10, await bus.Store.LoadOffsetAsync(BusNames.Consumer(BusNames.TopicLog(topic, 0), "slow"))),
                TimeSpan.FromSeconds(60));
            await slowSub.DisposeAsync();

            for (var i = 11; i <= 40; i++) await bus.PublishAsync(topic, new Ping(i), persistent);
            await TestWait.UntilAsync(() => { Assert.Equal(40, fast.Count); return Task.CompletedTask; }, TimeSpan.FromSeconds(60));
            Assert.Equal(Enumerable.Range(1, 40), fast);
            await TestWait.UntilAsync(async () => Assert.Equal(11, (await RowsAsync(bus, topic)).Min), TimeSpan.FromSeconds(60));

            // The slow group comes back and gets everything it had not acknowledged; then retention moves on.
            await using (await ConsumeAsync(bus, topic, "slow", slow))
            {
                await TestWait.UntilAsync(() => { Assert.Equal(40, slow.Count); return Task.CompletedTask; }, TimeSpan.FromSeconds(60));
                Assert.Equal(Enumerable.Range(1, 40), slow);
                await TestWait.UntilAsync(async () => Assert.Equal((36L, 5L), await RowsAsync(bus, topic)), TimeSpan.FromSeconds(60));
            }
        }

        // A new group starts at the oldest message kept; a publish still gets the next sequence number.
        var late = new ConcurrentQueue<int>();
        await using (await ConsumeAsync(bus, topic, "late", late))
            await TestWait.UntilAsync(() => { Assert.Equal(Enumerable.Range(36, 5), late); return Task.CompletedTask; }, TimeSpan.FromSeconds(60));
        Assert.Equal(41, (await bus.PublishAsync(topic, new Ping(41), persistent)).Sequence);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Retention_by_age_deletes_old_acknowledged_messages_but_keeps_the_newest_row(string kind)
    {
        await using var cluster = await BusCluster.StartAsync(StoreFor(kind), 1,
            "akka.event-driven.bus.durable.retention { max-age = 1s, interval = 200ms }");
        var bus = cluster.Bus(0);
        var topic = $"aged.{Guid.NewGuid():N}";
        var seen = new ConcurrentQueue<int>();
        await using var sub = await ConsumeAsync(bus, topic, "only", seen);
        for (var i = 1; i <= 10; i++) await bus.PublishAsync(topic, new Ping(i), new PublishOptions { Persistent = true });
        await TestWait.UntilAsync(() => { Assert.Equal(10, seen.Count); return Task.CompletedTask; }, TimeSpan.FromSeconds(60));
        // Once older than a second, all but the newest row go (it keeps the log's highest sequence number).
        await TestWait.UntilAsync(async () =>
        {
            var rows = await RowsAsync(bus, topic);
            Assert.True(rows == (10L, 1L), $"expected only row 10 left, found (min, count) {rows}; {await RetentionStateAsync(bus, topic)}");
        }, TimeSpan.FromSeconds(60));
        Assert.Equal(11, (await bus.PublishAsync(topic, new Ping(11), new PublishOptions { Persistent = true })).Sequence);
        await TestWait.UntilAsync(() => { Assert.Contains(11, seen); return Task.CompletedTask; }, TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(1, 11), seen);
    }

    /// <summary>A loaded run lost messages 1..10 of a group that had subscribed before they were published: its consumer
    /// entity started late, so the group had no stored offset yet when retention, seeing only the other group at 10,
    /// deleted them (and the late consumer skipped the hole). A subscription now registers its group's offset before it
    /// returns, under the lock retention takes.</summary>
    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_group_holds_retention_back_from_the_moment_its_subscription_returns(string kind)
    {
        // Retention runs only when the test calls it (a long interval), so the order of events is the test's.
        await using var cluster = await BusCluster.StartAsync(StoreFor(kind), 1,
            "akka.event-driven.bus.durable.retention { max-messages = 1, interval = 1h }");
        var bus = cluster.Bus(0);
        var topic = $"registered.{Guid.NewGuid():N}";
        var logId = BusNames.TopicLog(topic, 0);
        var persistent = new PublishOptions { Persistent = true };

        var early = new ConcurrentQueue<int>();
        await using (await ConsumeAsync(bus, topic, "early", early))
            Assert.True(await OffsetRowExistsAsync(bus, BusNames.Consumer(logId, "early")), "the subscription returned before its group had an offset");

        // Ten messages, and another group that has acknowledged all of them: retention must still keep what "early" has
        // not acknowledged (it stopped before any arrived).
        for (var i = 1; i <= 10; i++) await bus.PublishAsync(topic, new Ping(i), persistent);
        await bus.Store.SaveOffsetAsync(BusNames.Consumer(logId, "done"), 10);
        await bus.Store.ApplyRetentionAsync(logId, PersistenceIds.For(BusLog.AggregateName, logId), null, 1);
        Assert.Equal((1L, 10L), await RowsAsync(bus, topic));

        // Once "early" has read everything, retention cuts to the newest row; a group registered after that starts at
        // the floor retention left, with no hole before it.
        await using (await ConsumeAsync(bus, topic, "early", early))
            await TestWait.UntilAsync(() => { Assert.Equal(Enumerable.Range(1, 10), early); return Task.CompletedTask; }, TimeSpan.FromSeconds(60));
        await TestWait.UntilAsync(async () => Assert.Equal(10, await bus.Store.LoadOffsetAsync(BusNames.Consumer(logId, "early"))), TimeSpan.FromSeconds(60));
        Assert.Equal(9, await bus.Store.ApplyRetentionAsync(logId, PersistenceIds.For(BusLog.AggregateName, logId), null, 1));
        Assert.Equal((10L, 1L), await RowsAsync(bus, topic));
        Assert.Equal(9, await bus.Store.RegisterConsumerAsync(BusNames.Consumer(logId, "later"), logId));
    }

    private static async Task<bool> OffsetRowExistsAsync(MessageBus bus, string consumerId)
    {
        await using var connection = bus.Store.Settings.CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM bus_offsets WHERE consumer_id = @id";
        command.AddParameter("id", consumerId);
        return Convert.ToInt64(await command.ExecuteScalarAsync()) == 1;
    }

    [Fact]
    public void Retention_is_off_by_default()
    {
        var settings = BusSettings.FromConfig(EventBusConfig.DefaultConfig());
        Assert.False(settings.RetentionEnabled);
        Assert.Null(settings.RetentionMaxAge);
        Assert.Null(settings.RetentionMaxMessages);
        var aged = BusSettings.FromConfig(Akka.Configuration.ConfigurationFactory.ParseString("akka.event-driven.bus.durable.retention.max-age = 7d")
            .WithFallback(EventBusConfig.DefaultConfig()));
        Assert.Equal(TimeSpan.FromDays(7), aged.RetentionMaxAge);
    }
}
