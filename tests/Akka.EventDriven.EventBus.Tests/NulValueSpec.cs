using System.Collections.Concurrent;
using Akka.EventDriven.EventBus.Internal;
using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Issue 11 #7: a NUL character is rejected at the API edge, and a dead letter PostgreSQL text cannot hold does
/// not wedge its partition.</summary>
public sealed class NulValueSpec
{
    [Fact]
    public async Task A_nul_character_in_an_id_or_header_is_rejected_with_an_argument_exception()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var bus = cluster.Bus(0);
        var bad = new[]
        {
            new PublishOptions { MessageId = "a\0b" },
            new PublishOptions { CorrelationId = "c\0" },
            new PublishOptions { Persistent = true, PartitionKey = "\0k" },
            new PublishOptions { Headers = new Dictionary<string, string> { ["h\0"] = "v" } },
            new PublishOptions { Headers = new Dictionary<string, string> { ["h"] = "v\0" } },
        };
        foreach (var options in bad)
        {
            var e = await Assert.ThrowsAsync<ArgumentException>(() => bus.PublishAsync("nul.test", new Ping(1), options));
            Assert.Contains("NUL", e.Message);
            await Assert.ThrowsAsync<ArgumentException>(() => bus.EnqueueAsync("nul.test", new Ping(1), options with { Persistent = false }));
        }
        Assert.Throws<ArgumentException>(() => bus.Publish("nul.test", new Ping(1), new PublishOptions { MessageId = "x\0" }));
    }

    [Fact]
    public async Task A_dead_letter_whose_reason_holds_a_nul_is_stored_on_postgresql_and_does_not_wedge_the_partition()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.PostgreSql(), 1);
        var bus = cluster.Bus(0);
        var topic = $"nul.dlq.{Guid.NewGuid():N}";
        var dlq = $"dlq-{Guid.NewGuid():N}";
        var handled = new ConcurrentQueue<int>();
        await using var sub = await bus.SubscribeAsync<Ping>(topic, (m, _) =>
        {
            if (m.Payload.N == 1) throw new InvalidOperationException("bad value 'x\0y'");
            handled.Enqueue(m.Payload.N);
            return Task.CompletedTask;
        }, new SubscriptionOptions { Durable = true, MaxRetries = 0, DeadLetterQueue = dlq });
        await bus.PublishAsync(topic, new Ping(1), new PublishOptions { Persistent = true });
        await bus.PublishAsync(topic, new Ping(2), new PublishOptions { Persistent = true });
        await TestWait.UntilAsync(() => { Assert.Equal([2], handled); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));
        var letter = Assert.Single(await bus.DeadLetters(dlq).ListAsync());
        Assert.Contains("bad value", letter.Reason);
        Assert.DoesNotContain('\0', letter.Reason);
    }

    [Fact]
    public async Task A_row_postgresql_refuses_counts_as_permanent_and_a_database_that_is_away_does_not()
    {
        var store = TestStore.PostgreSql();
        var settings = new StoreSettings(store.Provider, store.ConnectionString).Validate(); // normalizes a postgresql:// URL
        await using (var connection = settings.CreateConnection())
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT CAST(@v AS text)";
            command.AddParameter("v", "x\0y");
            var refused = await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => command.ExecuteScalarAsync());
            Assert.True(BusStore.IsPermanent(refused), $"{refused.SqlState}: {refused.Message}");
        }
        var away = new StoreSettings(StoreProvider.PostgreSql, $"Host=127.0.0.1;Port={TestWait.FreePort()};Username=postgres;Database=x;Timeout=2");
        await using (var connection = away.CreateConnection())
        {
            var down = await Assert.ThrowsAnyAsync<Exception>(() => connection.OpenAsync());
            Assert.False(BusStore.IsPermanent(down), down.Message);
        }
        Assert.Equal("a\\u0000b", BusStore.Text("a\0b"));
    }
}
