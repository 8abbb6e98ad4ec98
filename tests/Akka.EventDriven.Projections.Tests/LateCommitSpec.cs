using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.EventSourcing.Tests;
using Npgsql;

namespace Akka.EventDriven.Projections.Tests;

/// <summary>
/// PostgreSQL: a write whose commit takes far longer than the gap timeout (a lock wait, an fsync stall, a synchronous
/// standby) must still be projected, exactly once; a hole whose write really rolled back is skipped, and shown.
/// </summary>
[Collection(SerialDatabaseCollection.Name)]
public sealed class LateCommitSpec
{
    [Fact]
    public async Task An_event_whose_commit_is_held_open_past_the_gap_timeout_is_projected_exactly_once()
    {
        var store = await PrivateDatabase.CreateAsync();
        await using var node = await NodeHost.StartAsync(store);
        var run = Guid.NewGuid().ToString("N")[..12];
        await node.Ledger.SendAsync($"{run}-warmup", new Open("w"));

        var projectionId = new ProjectionId($"late-{run}");
        var skippedMetric = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "akka.event_driven.projection.skipped_holes") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag is { Key: "projection", Value: string p } && p == projectionId.ToString()) Interlocked.Add(ref skippedMetric, value);
        });
        listener.Start();

        var seen = new ConcurrentDictionary<(string, long), int>();
        var gap = TimeSpan.FromMilliseconds(500);
        var settings = new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(20), GapTimeout: gap, Tag: "Ledger", StartFromEnd: true);
        await using var projection = Projection.AtLeastOnce(node.System, projectionId, (e, _) =>
        {
            if (e.PersistenceId.Contains(run)) seen.AddOrUpdate((e.PersistenceId, e.SequenceNr), 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }, settings);
        await projection.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        // The held row takes one ordering (a write that will roll back); the aggregate's own write, blocked behind
        // it, takes the next one and commits only when the test lets it; other aggregates commit after both.
        var heldId = $"{run}-held";
        await using var blocker = await HeldJournalRow.BeginAsync(store, PersistenceIds.For("Ledger", heldId), 1);
        var held = node.Ledger.SendAsync(heldId, new Open("late"));
        await blocker.WaitUntilWaitedOnAsync();
        var ids = Enumerable.Range(0, 10).Select(i => $"{run}-o{i}").ToArray();
        var others = Task.WhenAll(ids.Select(id => node.Ledger.SendAsync(id, new Open("o"))));
        await TestWait.UntilAsync(async () => Assert.Equal(ids.Length, await CommittedAsync(store, $"Ledger-{run}-o%")), TimeSpan.FromSeconds(30));

        // Many gap timeouts pass with the holes' writers still in flight: nothing behind them may be handed out,
        // or the late event would be passed over for good.
        await TestWait.NeverWithinAsync(() => !seen.IsEmpty, gap * 8,
            () => $"the projection passed holes whose writers were still in flight: it handled {string.Join(", ", seen.Keys)}");

        await blocker.RollbackAsync();
        Assert.Equal(1, Assert.IsType<CommandAccepted>(await held).Version);
        await others;
        await projection.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(ids.Length + 1, seen.Count);
        Assert.Equal(1, seen[(PersistenceIds.For("Ledger", heldId), 1L)]);
        Assert.All(seen.Values, n => Assert.Equal(1, n));
        // The held row itself rolled back: that hole is final, and was given up on visibly.
        var status = await projection.GetStatusAsync();
        Assert.True(status.SkippedHoles >= 1, "the rolled-back hole was not reported");
        Assert.True(status.LastSkippedHole >= blocker.Ordering, $"last skipped hole {status.LastSkippedHole}, held row {blocker.Ordering}");
        Assert.True(Interlocked.Read(ref skippedMetric) >= 1, "the rolled-back hole was not counted in the skipped_holes metric");
    }

    /// <summary>
    /// The writer holding a hole took its transaction id AFTER the newest one to complete (so at or above the snapshot's
    /// xmax), and is the oldest transaction still running (so it is the snapshot's xmin). A bound taken from xmax calls
    /// that hole final while its writer runs and passes over its event for good; the bound must come from an id taken
    /// after the hole was seen. Runs alone (its collection is not parallel) so that no other commit in the server lifts
    /// xmax above the writer's id and hides the case.
    /// </summary>
    [Fact]
    public async Task A_hole_held_by_the_newest_transaction_id_is_not_final_while_that_transaction_runs()
    {
        var store = await PrivateDatabase.CreateAsync();
        await using var node = await NodeHost.StartAsync(store);
        var run = Guid.NewGuid().ToString("N")[..12];
        await node.Ledger.SendAsync($"{run}-warmup", new Open("w")); // the journal tables exist, and a real payload to copy
        var cs = Akka.EventDriven.Storage.StoreSettings.NormalizeConnectionString(store.Provider, store.ConnectionString);

        var seen = new ConcurrentDictionary<string, int>();
        var settings = new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(10), StartFromEnd: true);
        await using var projection = Projection.AtLeastOnce(node.System, new ProjectionId($"newest-{run}"), (e, _) =>
        {
            if (e.PersistenceId.Contains(run)) seen.AddOrUpdate(e.PersistenceId, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }, settings);
        await projection.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        var warmup = PersistenceIds.For("Ledger", $"{run}-warmup");
        var lateId = PersistenceIds.For("Ledger", $"{run}-late");
        var earlyId = PersistenceIds.For("Ledger", $"{run}-early");
        await using var early = new NpgsqlConnection(cs);
        await using var late = new NpgsqlConnection(cs);
        await early.OpenAsync();
        await late.OpenAsync();

        // 'early' takes its transaction id first; 'late' takes a newer one and a lower ordering, and stays open;
        // 'early' then takes the ordering behind it and commits. Nothing completes after 'late' took its id.
        await using var earlyTx = await early.BeginTransactionAsync();
        await using (var xid = new NpgsqlCommand("SELECT pg_current_xact_id()", early, earlyTx)) await xid.ExecuteScalarAsync();
        await using var lateTx = await late.BeginTransactionAsync();
        var lateOrdering = await InsertCopyAsync(late, lateTx, lateId, warmup);
        var earlyOrdering = await InsertCopyAsync(early, earlyTx, earlyId, warmup);
        Assert.True(earlyOrdering > lateOrdering);
        await earlyTx.CommitAsync();

        // The row behind the hole is committed; the hole's writer still runs: nothing may be handed out past it.
        await TestWait.NeverWithinAsync(() => !seen.IsEmpty, TimeSpan.FromSeconds(3),
            () => $"the projection passed a hole whose writer was still running: it handled {string.Join(", ", seen.Keys)}");

        await lateTx.CommitAsync();
        await projection.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, seen.GetValueOrDefault(lateId));
        Assert.Equal(1, seen.GetValueOrDefault(earlyId));
        Assert.Equal(0, (await projection.GetStatusAsync()).SkippedHoles);
    }

    /// <summary>
    /// A caller's transaction may already have an id when it reads (an exactly-once step's did: it locked its offset row
    /// FOR UPDATE first, which assigns one; the step now locks the row after the read), older than the writer holding a
    /// hole it sees. That id is no bound for the hole: once it has committed, a later snapshot's xmin is above it while
    /// the writer still runs. Seen in the projection-lag benchmark as "gave up on journal orderings N..N" for a row that
    /// was in the journal afterwards. (With another long transaction on the server holding xmin low, the old code would
    /// still have waited here, through the journal writers' locks: the spec runs alone in its collection.)
    /// </summary>
    [Fact]
    public async Task A_hole_first_seen_in_a_transaction_that_already_had_an_id_is_not_final_while_its_writer_runs()
    {
        var store = await PrivateDatabase.CreateAsync();
        await using var node = await NodeHost.StartAsync(store);
        var run = Guid.NewGuid().ToString("N")[..12];
        await node.Ledger.SendAsync($"{run}-warmup", new Open("w")); // the journal tables exist, and a real payload to copy
        var cs = Akka.EventDriven.Storage.StoreSettings.NormalizeConnectionString(store.Provider, store.ConnectionString);
        var reader = new Akka.EventDriven.Storage.JournalReader(Akka.EventDriven.Storage.StoreSettings.FromConfig(node.System.Settings.Config));

        var warmup = PersistenceIds.For("Ledger", $"{run}-warmup");

        await using var readerConnection = (NpgsqlConnection)await reader.OpenAsync(CancellationToken.None);
        var offset = await reader.MaxOrderingAsync(CancellationToken.None);

        // The reading transaction takes its id first (as the FOR UPDATE of an exactly-once step did, and any caller's may) ...
        await using var readTx = await readerConnection.BeginTransactionAsync();
        await using (var xid = new NpgsqlCommand("SELECT pg_current_xact_id()", readerConnection, readTx)) await xid.ExecuteScalarAsync();
        // ... then a writer takes a newer id and an ordering, and stays open; another write takes the ordering behind
        // it and commits.
        await using var late = new NpgsqlConnection(cs);
        await late.OpenAsync();
        await using var lateTx = await late.BeginTransactionAsync();
        var lateOrdering = await InsertCopyAsync(late, lateTx, PersistenceIds.For("Ledger", $"{run}-late"), warmup);
        await using (var early = new NpgsqlConnection(cs))
        {
            await early.OpenAsync();
            Assert.True(await InsertCopyAsync(early, null, PersistenceIds.For("Ledger", $"{run}-early"), warmup) > lateOrdering);
        }

        // The read in that transaction sees the hole and stops before it; the transaction then ends.
        var first = await reader.ReadAsync(readerConnection, readTx, offset, 100, CancellationToken.None);
        Assert.Equal(lateOrdering - 1, first.NextOffset);
        await readTx.CommitAsync();

        // Later reads, while the writer still runs, must not give the hole up.
        for (var i = 0; i < 5; i++)
        {
            await using var tx = await readerConnection.BeginTransactionAsync();
            var again = await reader.ReadAsync(readerConnection, tx, first.NextOffset, 100, CancellationToken.None);
            await tx.CommitAsync();
            Assert.True(again.NextOffset == first.NextOffset && again.Rows.Count == 0,
                $"read {i + 1} passed the hole at {lateOrdering} while its writer ran: next offset {again.NextOffset}, skipped holes {reader.SkippedHoles}");
        }
        Assert.Equal(0, reader.SkippedHoles);

        await lateTx.CommitAsync();
        var last = await reader.ReadAsync(readerConnection, null, first.NextOffset, 100, CancellationToken.None);
        Assert.Equal(2, last.Rows.Count);
        Assert.Equal(lateOrdering, last.Rows[0].Ordering);
        Assert.Equal(0, reader.SkippedHoles);
    }

    /// <summary>
    /// A snapshot's xmin is the whole server's: a transaction that runs long in another database (a batch job, a test
    /// holding a row, a forgotten session) keeps it below every hole's bound. A rolled-back hole must still be given up
    /// on, because none of the journal's own writers holds it; before the writers were named, the projection waited
    /// for that unrelated transaction to end.
    /// </summary>
    [Fact]
    public async Task A_rolled_back_hole_is_given_up_on_while_an_unrelated_transaction_runs_elsewhere_on_the_server()
    {
        var store = await PrivateDatabase.CreateAsync();
        var elsewhere = await PrivateDatabase.CreateAsync();
        await using var node = await NodeHost.StartAsync(store);
        var run = Guid.NewGuid().ToString("N")[..12];
        await node.Ledger.SendAsync($"{run}-warmup", new Open("w"));
        var cs = Akka.EventDriven.Storage.StoreSettings.NormalizeConnectionString(store.Provider, store.ConnectionString);

        var seen = new ConcurrentDictionary<string, int>();
        await using var projection = Projection.AtLeastOnce(node.System, new ProjectionId($"elsewhere-{run}"), (e, _) =>
        {
            if (e.PersistenceId.Contains(run)) seen.AddOrUpdate(e.PersistenceId, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }, new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(20), StartFromEnd: true));
        await projection.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        // Another database on the same server: a transaction with an id of its own, left open for the whole test.
        await using var other = new NpgsqlConnection(Akka.EventDriven.Storage.StoreSettings.NormalizeConnectionString(
            elsewhere.Provider, elsewhere.ConnectionString));
        await other.OpenAsync();
        await using var otherTx = await other.BeginTransactionAsync();
        await using (var xid = new NpgsqlCommand("SELECT pg_current_xact_id()", other, otherTx)) await xid.ExecuteScalarAsync();

        // A write that takes an ordering and rolls back: a hole no one will fill.
        await using (var rolledBack = await HeldJournalRow.BeginAsync(store, PersistenceIds.For("Ledger", $"{run}-gone"), 1))
            await rolledBack.RollbackAsync();
        var afterId = PersistenceIds.For("Ledger", $"{run}-after");
        await node.Ledger.SendAsync($"{run}-after", new Open("a"));

        await TestWait.UntilAsync(() => { Assert.Equal(1, seen.GetValueOrDefault(afterId)); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));
        Assert.Equal(1, (await projection.GetStatusAsync()).SkippedHoles);
        await otherTx.RollbackAsync();
    }

    /// <summary>Inserts event 1 of <paramref name="persistenceId"/> straight into the journal, a copy of the first event
    /// of <paramref name="copyOf"/> (a real payload), in <paramref name="transaction"/> if given; returns its ordering.</summary>
    private static async Task<long> InsertCopyAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string persistenceId, string copyOf)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO event_journal (created_at, is_deleted, persistence_id, sequence_nr, payload, manifest, serializer_id)
            SELECT created_at, false, $1, 1, payload, manifest, serializer_id FROM event_journal WHERE persistence_id = $2
            RETURNING ordering
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = copyOf });
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private static async Task<long> CommittedAsync(TestStore store, string pattern)
    {
        await using var connection = new NpgsqlConnection(
            Akka.EventDriven.Storage.StoreSettings.NormalizeConnectionString(store.Provider, store.ConnectionString));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM event_journal WHERE persistence_id LIKE $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pattern });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>Specs that need the database server to themselves (no other spec's commits in between) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialDatabaseCollection
{
    public const string Name = "serial database";
}
