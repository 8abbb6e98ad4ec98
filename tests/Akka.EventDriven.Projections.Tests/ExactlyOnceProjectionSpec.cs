using System.Data.Common;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;
using Npgsql;

namespace Akka.EventDriven.Projections.Tests;

/// <summary>The exactly-once projection contract, run on SQLite and on PostgreSQL.</summary>
public abstract class ExactlyOnceProjectionSpec
{
    protected abstract TestStore NewStore();

    /// <summary>Read model: per ledger of this test (its ids contain the table name), how many events and the
    /// balance; written in the projection's transaction.</summary>
    private static ExactlyOnceHandler CountingHandler(string table, Func<bool>? failAfterWrites = null) =>
        async (batch, tx, ct) =>
        {
            foreach (var e in batch.Where(e => e.PersistenceId.Contains(table)))
            {
                var amount = e.Event switch { Deposited d => d.Amount, Withdrawn w => -w.Amount, _ => 0m };
                await using var command = tx.Connection!.CreateCommand();
                command.Transaction = tx;
                command.CommandText = $"""
                    INSERT INTO {table} (persistence_id, events, balance) VALUES (@p, 1, @a)
                    ON CONFLICT (persistence_id) DO UPDATE SET events = {table}.events + 1, balance = {table}.balance + @a
                    """;
                command.AddParameter("p", e.PersistenceId);
                command.AddParameter("a", (double)amount);
                await command.ExecuteNonQueryAsync(ct);
            }
            if (failAfterWrites?.Invoke() == true) throw new InvalidOperationException("simulated crash after the writes");
        };

    [Fact]
    public async Task A_projection_that_fails_mid_batch_and_restarts_applies_every_event_exactly_once()
    {
        var store = NewStore();
        await using var node = await NodeHost.StartAsync(store);
        var table = await NewReadModelAsync(store);

        var random = new Random(7);
        var settings = new ProjectionSettings(BatchSize: 17, PollInterval: TimeSpan.FromMilliseconds(20), Tag: "Ledger", StartFromEnd: true);
        var id1 = new ProjectionId($"counts-{table}");
        await using (var init = Projection.ExactlyOnce(node.System, id1, CountingHandler(table), settings))
            await init.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30)); // the offset starts after other tests' events

        var ids = Enumerable.Range(0, 10).Select(i => $"{table}-{i}").ToArray();
        foreach (var id in ids) await node.Ledger.SendAsync(id, new Open("x"));
        var writers = Task.WhenAll(ids.Select(async id => { for (var i = 0; i < 30; i++) await node.Ledger.SendAsync(id, new Deposit(1m)); }));

        // Several incarnations, each stopped part-way, each failing a third of its batches after writing them. Each
        // one is stopped once it has handled a few batches (or, if the writers are done first, once it is caught up),
        // so every stop lands while events are still flowing rather than after a guessed delay.
        for (var incarnation = 0; incarnation < 4; incarnation++)
        {
            var batches = 0;
            var failing = CountingHandler(table, () => random.Next(3) == 0);
            await using var projection = Projection.ExactlyOnce(node.System, id1,
                async (batch, tx, ct) => { Interlocked.Increment(ref batches); await failing(batch, tx, ct); }, settings);
            await TestWait.UntilAsync(async () =>
            {
                if (Volatile.Read(ref batches) >= 3) return;
                Assert.True(writers.IsCompleted, $"incarnation {incarnation} handled {Volatile.Read(ref batches)} batch(es) so far");
                await projection.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(1));
            }, TimeSpan.FromSeconds(30));
        }
        await writers;
        await using (var last = Projection.ExactlyOnce(node.System, id1, CountingHandler(table), settings))
            await last.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        var model = await ReadModelAsync(store, table);
        Assert.Equal(ids.Length, model.Count);
        foreach (var id in ids)
        {
            Assert.Equal((31L, 30.0), model[PersistenceIds.For("Ledger", id)]); // Open + 30 deposits, each once
        }
    }

    /// <summary>Two instances of one projection stepping at once (a hand-over gone wrong, two deployments): each reads
    /// from the offset it last saw, so one of them often reads rows that the other has handled meanwhile. Its offset row
    /// lock, taken before the handler, tells it: it starts again from the stored offset instead of handling them twice.</summary>
    [Fact]
    public async Task Two_instances_of_one_projection_running_at_once_apply_every_event_exactly_once()
    {
        var store = NewStore();
        await using var node = await NodeHost.StartAsync(store);
        var table = await NewReadModelAsync(store);
        var settings = new ProjectionSettings(BatchSize: 7, PollInterval: TimeSpan.FromMilliseconds(10), Tag: "Ledger", StartFromEnd: true);
        var id = new ProjectionId($"twice-{table}");
        var batches = new int[2];
        ExactlyOnceHandler Counting(int instance)
        {
            var inner = CountingHandler(table);
            return async (batch, tx, ct) =>
            {
                await inner(batch, tx, ct);
                Interlocked.Increment(ref batches[instance]);
            };
        }
        await using var first = Projection.ExactlyOnce(node.System, id, Counting(0), settings);
        await first.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        await using var second = Projection.ExactlyOnce(node.System, id, Counting(1), settings);

        var ids = Enumerable.Range(0, 8).Select(i => $"{table}-{i}").ToArray();
        foreach (var ledger in ids) await node.Ledger.SendAsync(ledger, new Open("x"));
        await Task.WhenAll(ids.Select(async ledger => { for (var i = 0; i < 25; i++) await node.Ledger.SendAsync(ledger, new Deposit(1m)); }));
        await first.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        await second.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        var model = await ReadModelAsync(store, table);
        var handled = $"batches handled: {batches[0]} by the first instance, {batches[1]} by the second";
        Assert.True(model.Count == ids.Length, $"{model.Count} of {ids.Length} ledgers in the read model; {handled}");
        foreach (var ledger in ids)
            Assert.True(model[PersistenceIds.For("Ledger", ledger)] == (26L, 25.0), // Open + 25 deposits, each once
                $"{ledger}: {model[PersistenceIds.For("Ledger", ledger)]} instead of (26, 25); {handled}");
    }

    [Fact]
    public async Task Stopping_the_actor_system_in_the_middle_of_batches_many_times_neither_loses_nor_repeats_an_effect()
    {
        var store = NewStore();
        await using var writer = await NodeHost.StartAsync(store);
        var table = await NewReadModelAsync(store);
        var settings = new ProjectionSettings(BatchSize: 13, PollInterval: TimeSpan.FromMilliseconds(10), Tag: "Ledger", StartFromEnd: true);
        var id = new ProjectionId($"kill-{table}");
        // A handler that takes its time, so that stops land in the middle of batches.
        var counting = CountingHandler(table);
        ExactlyOnceHandler slow = async (batch, tx, ct) => { await counting(batch, tx, ct); await Task.Delay(20, ct); };
        await using (var init = await NodeHost.StartAsync(store, systemName: "projector"))
        await using (var p = Projection.ExactlyOnce(init.System, id, slow, settings))
            await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        var ids = Enumerable.Range(0, 8).Select(i => $"{table}-{i}").ToArray();
        foreach (var a in ids) await writer.Ledger.SendAsync(a, new Open("k"));
        var writes = Task.WhenAll(ids.Select(async a => { for (var i = 0; i < 25; i++) await writer.Ledger.SendAsync(a, new Deposit(1m)); }));
        for (var incarnation = 0; incarnation < 6; incarnation++)
        {
            var node = await NodeHost.StartAsync(store, systemName: "projector");
            // The actor system stops while this incarnation is inside a batch: after its writes, before its commit.
            var insideBatch = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            ExactlyOnceHandler signalling = async (batch, tx, ct) =>
            {
                await counting(batch, tx, ct);
                insideBatch.TrySetResult();
                await Task.Delay(20, ct);
            };
            _ = Projection.ExactlyOnce(node.System, id, signalling, settings); // stopped with its actor system, never disposed
            // Once the writers are done there may be nothing left for a batch: the stop then lands between polls.
            await Task.WhenAny(insideBatch.Task, writes).WaitAsync(TimeSpan.FromSeconds(30));
            await node.DisposeAsync();
        }
        await writes;
        await using (var last = await NodeHost.StartAsync(store, systemName: "projector"))
        await using (var p = Projection.ExactlyOnce(last.System, id, slow, settings))
            await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(60));

        var model = await ReadModelAsync(store, table);
        foreach (var a in ids) Assert.Equal((26L, 25.0), model[PersistenceIds.For("Ledger", a)]);
    }

    [Fact]
    public async Task A_restarted_projection_resumes_from_its_stored_offset_and_sees_only_its_tag()
    {
        var store = NewStore();
        await using var node = await NodeHost.StartAsync(store);
        var table = await NewReadModelAsync(store);
        var id = $"{table}-r";
        await node.Ledger.SendAsync(id, new Open("y"));
        await node.Ledger.SendAsync(id, new Deposit(5m));

        var projectionId = new ProjectionId($"resume-{table}");
        var settings = new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(20), Tag: "Ledger");
        await using (var first = Projection.ExactlyOnce(node.System, projectionId, CountingHandler(table), settings))
            await first.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        await node.Ledger.SendAsync(id, new Withdraw(2m));
        await using (var second = Projection.ExactlyOnce(node.System, projectionId, CountingHandler(table), settings))
            await second.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((3L, 3.0), (await ReadModelAsync(store, table))[PersistenceIds.For("Ledger", id)]);

        var none = new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(20), Tag: "NoSuchTag");
        var seen = 0;
        await using (var other = Projection.ExactlyOnce(node.System, new ProjectionId($"other-{table}"),
                         (batch, _, _) => { seen += batch.Count; return Task.CompletedTask; }, none))
            await other.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, seen);
    }

    protected static DbConnection Open(TestStore store) =>
        new StoreSettings(store.Provider, store.ConnectionString).Validate().CreateConnection();

    /// <summary>A fresh read-model table in the store's database (a ledger's persistence id, its events counted and its
    /// balance); its name.</summary>
    protected static async Task<string> NewReadModelAsync(TestStore store)
    {
        var table = $"rm_{Guid.NewGuid():N}"[..20];
        await ExecAsync(store, $"CREATE TABLE {table} (persistence_id text PRIMARY KEY, events bigint NOT NULL, balance double precision NOT NULL)");
        return table;
    }

    protected static async Task ExecAsync(TestStore store, string sql)
    {
        await using var connection = Open(store);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<Dictionary<string, (long Events, double Balance)>> ReadModelAsync(TestStore store, string table)
    {
        await using var connection = Open(store);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT persistence_id, events, balance FROM {table}";
        var result = new Dictionary<string, (long, double)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result[reader.GetString(0)] = (reader.GetInt64(1), reader.GetDouble(2));
        return result;
    }
}

public sealed class SqliteExactlyOnceProjectionSpec : ExactlyOnceProjectionSpec
{
    protected override TestStore NewStore() => TestStore.NewSqlite();
}

public sealed class PostgreSqlExactlyOnceProjectionSpec : ExactlyOnceProjectionSpec
{
    protected override TestStore NewStore() => TestStore.PostgreSql();

    [Fact]
    public async Task Events_committed_out_of_ordering_order_by_concurrent_writers_are_never_skipped()
    {
        var store = NewStore();
        // Four journal writer connections: batches take orderings in one order and commit in another.
        await using var node = await NodeHost.StartAsync(store, extraHocon: "akka.persistence.journal.event-driven-postgresql.parallelism = 4");
        var table = await NewReadModelAsync(store);
        var counted = 0L;
        var settings = new ProjectionSettings(BatchSize: 50, PollInterval: TimeSpan.FromMilliseconds(1), Tag: "Ledger");
        await using var projection = Projection.ExactlyOnce(node.System, new ProjectionId($"gaps-{table}"),
            (batch, _, _) => { Interlocked.Add(ref counted, batch.Count(e => e.PersistenceId.Contains(table))); return Task.CompletedTask; },
            settings);

        var ids = Enumerable.Range(0, 100).Select(i => $"{table}-{i}").ToArray();
        foreach (var id in ids) await node.Ledger.SendAsync(id, new Open("z"));
        await Task.WhenAll(ids.SelectMany(id => Enumerable.Range(0, 4).Select(async _ =>
        {
            await Task.Yield();
            for (var i = 0; i < 15; i++) Assert.IsType<CommandAccepted>(await node.Ledger.SendAsync(id, new Deposit(1m)));
        })));
        await projection.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(ids.Length * 61L, Interlocked.Read(ref counted)); // Open + 60 deposits per ledger, none skipped
    }
}
