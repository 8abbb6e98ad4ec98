using System.Collections.Concurrent;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Projections.Tests;

/// <summary>Delivery modes, recovery strategies and operator controls, on SQLite and PostgreSQL.</summary>
public abstract class ProjectionOperationsSpec
{
    protected abstract TestStore NewStore();

    private static ProjectionSettings Fast(RecoveryStrategy? recovery = null, int batch = 500) =>
        new(BatchSize: batch, PollInterval: TimeSpan.FromMilliseconds(20), Tag: "Ledger",
            MaxBackoff: TimeSpan.FromMilliseconds(200), Recovery: recovery);

    [Fact]
    public async Task At_least_once_resumes_after_the_last_stored_offset()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = $"alo-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("a"));
        await node.Ledger.SendAsync(id, new Deposit(1m));
        var name = new ProjectionId($"alo-{Guid.NewGuid():N}");

        var first = new ConcurrentBag<long>();
        await using (var p = Projection.AtLeastOnce(node.System, name, (e, _) => { if (e.PersistenceId.EndsWith(id)) first.Add(e.SequenceNr); return Task.CompletedTask; }, Fast()))
            await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        await node.Ledger.SendAsync(id, new Deposit(2m));
        var second = new ConcurrentBag<long>();
        await using (var p = Projection.AtLeastOnce(node.System, name, (e, _) => { if (e.PersistenceId.EndsWith(id)) second.Add(e.SequenceNr); return Task.CompletedTask; }, Fast()))
            await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([1L, 2L], first.Order());
        Assert.Equal([3L], second.Order());
    }

    [Fact]
    public async Task Grouped_hands_over_bounded_groups_covering_every_event_in_order()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = $"grp-{Guid.NewGuid():N}";
        var groups = new ConcurrentQueue<IReadOnlyList<ProjectionEnvelope>>();
        var settings = Fast(batch: 7) with { GroupWithin = TimeSpan.FromMilliseconds(100), StartFromEnd = true };
        await using var p = Projection.Grouped(node.System, new ProjectionId($"grp-{Guid.NewGuid():N}"), (g, _) => { groups.Enqueue(g); return Task.CompletedTask; }, settings);
        await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30)); // starts after what other tests wrote
        await node.Ledger.SendAsync(id, new Open("g"));
        for (var i = 0; i < 20; i++) await node.Ledger.SendAsync(id, new Deposit(1m));
        await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        Assert.All(groups, g => Assert.InRange(g.Count, 1, 7));
        var mine = groups.SelectMany(g => g).Where(e => e.PersistenceId.EndsWith(id)).Select(e => e.SequenceNr).ToList();
        Assert.Equal(Enumerable.Range(1, 21).Select(v => (long)v), mine);
    }

    [Fact]
    public async Task A_handler_OperationCanceledException_of_its_own_goes_to_the_recovery_strategy()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = $"oce-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("c"));
        // What HttpClient throws on its own timeout: an OperationCanceledException that is not the projection's stop.
        await using var p = Projection.AtLeastOnce(node.System, new ProjectionId($"oce-{Guid.NewGuid():N}"),
            (e, _) => e.PersistenceId.EndsWith(id)
                ? throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.")
                : Task.CompletedTask,
            Fast(RecoveryStrategy.RetryThenFail(1)));

        await TestWait.UntilAsync(async () => Assert.Equal(ProjectionState.Failed, (await p.GetStatusAsync()).State), TimeSpan.FromSeconds(30));
        Assert.Contains("HttpClient.Timeout", (await p.GetStatusAsync()).LastError);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task A_poison_event_is_retried_then_dead_lettered_and_the_rest_is_projected(int retries)
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = $"dlq-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("d"));
        await node.Ledger.SendAsync(id, new Deposit(13m)); // the handler cannot take 13
        await node.Ledger.SendAsync(id, new Deposit(1m));
        var handled = new ConcurrentBag<long>();
        var attempts = 0;
        ExactlyOnceHandler handler = (batch, _, _) =>
        {
            foreach (var e in batch.Where(e => e.PersistenceId.EndsWith(id)))
            {
                if (e.Event is Deposited { Amount: 13m }) { Interlocked.Increment(ref attempts); throw new InvalidOperationException("unlucky 13"); }
                handled.Add(e.SequenceNr);
            }
            return Task.CompletedTask;
        };
        await using var p = Projection.ExactlyOnce(node.System, new ProjectionId($"dlq-{Guid.NewGuid():N}"), handler,
            Fast(retries == 0 ? RecoveryStrategy.Skip : RecoveryStrategy.RetryThenDeadLetter(retries)));
        await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        // The handler's in-memory bag is outside the transaction, so a rolled-back batch may have added 1 before;
        // what matters: 2 never got through, its neighbours did (Skip must not dead-letter an innocent event),
        // and 2 was tried alone once plus `retries` times (and maybe once inside the first full batch).
        Assert.Equal([1L, 3L], handled.Distinct().Order());
        Assert.InRange(attempts, retries + 1, retries + 2);
        var status = await p.GetStatusAsync();
        Assert.Equal(1, status.DeadLetters);
        Assert.Equal(ProjectionState.Running, status.State);
    }

    [Fact]
    public async Task The_fail_strategy_stops_the_projection_with_the_error_in_its_status()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = $"fail-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("f"));
        await using var p = Projection.ExactlyOnce(node.System, new ProjectionId($"fail-{Guid.NewGuid():N}"),
            (batch, _, _) => batch.Any(e => e.PersistenceId.EndsWith(id)) ? throw new InvalidOperationException("read model broken") : Task.CompletedTask,
            Fast(RecoveryStrategy.Fail));

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("read model broken", failure.Message);
        var status = await p.GetStatusAsync();
        Assert.Equal(ProjectionState.Failed, status.State);
        Assert.Contains("read model broken", status.LastError);
        Assert.True(status.EventsBehind >= 1);
    }

    [Fact]
    public async Task Pause_holds_progress_resume_continues_and_status_reports_the_lag()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = $"pause-{Guid.NewGuid():N}";
        var seen = new ConcurrentBag<long>();
        await using var p = Projection.ExactlyOnce(node.System, new ProjectionId($"pause-{Guid.NewGuid():N}"),
            (batch, _, _) => { foreach (var e in batch.Where(e => e.PersistenceId.EndsWith(id))) seen.Add(e.SequenceNr); return Task.CompletedTask; },
            Fast());
        await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        await p.PauseAsync();
        await node.Ledger.SendAsync(id, new Open("p"));
        await node.Ledger.SendAsync(id, new Deposit(1m));

        var paused = await p.GetStatusAsync();
        Assert.Equal(ProjectionState.Paused, paused.State);
        Assert.True(paused.EventsBehind >= 2, $"behind {paused.EventsBehind}");
        // Absence check: for several poll intervals a paused projection must not hand an event to its handler.
        await TestWait.NeverWithinAsync(() => !seen.IsEmpty, TimeSpan.FromMilliseconds(300),
            () => $"a paused projection handled events {string.Join(", ", seen.Order())}");
        Assert.Empty(seen);

        p.Resume();
        await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([1L, 2L], seen.Order());
        var caughtUp = await p.GetStatusAsync();
        Assert.Equal(ProjectionState.Running, caughtUp.State);
        Assert.True(caughtUp.Offset > paused.Offset); // other tests may write to a shared database meanwhile
    }

    [Fact]
    public async Task Rebuild_clears_the_read_model_and_produces_the_same_one_again()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = $"rebuild-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("r"));
        for (var i = 1; i <= 5; i++) await node.Ledger.SendAsync(id, new Deposit(i));
        var model = new ConcurrentDictionary<long, decimal>();
        await using var p = Projection.ExactlyOnce(node.System, new ProjectionId($"rebuild-{Guid.NewGuid():N}"),
            (batch, _, _) =>
            {
                foreach (var e in batch.Where(e => e.PersistenceId.EndsWith(id)))
                    model.AddOrUpdate(e.SequenceNr, e.Event is Deposited d ? d.Amount : 0m, (_, _) => throw new InvalidOperationException("applied twice"));
                return Task.CompletedTask;
            }, Fast());
        await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        var before = model.OrderBy(kv => kv.Key).ToList();

        await p.RebuildAsync((_, _) => { model.Clear(); return Task.CompletedTask; });
        await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(6, before.Count);
        Assert.Equal(before, model.OrderBy(kv => kv.Key).ToList());
    }

    [Fact]
    public async Task Rebuild_reports_rebuilding_with_its_progress_until_past_the_newest_event_of_its_start()
    {
        await using var node = await NodeHost.StartAsync(NewStore());
        var id = $"progress-{Guid.NewGuid():N}";
        await node.Ledger.SendAsync(id, new Open("r"));
        for (var i = 1; i <= 5; i++) await node.Ledger.SendAsync(id, new Deposit(i));
        // Once armed, the handler waits at the ledger's third deposit until released: the rebuild stays part way.
        var armed = false;
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var p = Projection.AtLeastOnce(node.System, new ProjectionId($"progress-{Guid.NewGuid():N}"), async (e, ct) =>
        {
            if (Volatile.Read(ref armed) && e.PersistenceId.EndsWith(id, StringComparison.Ordinal) && e.SequenceNr == 4)
            {
                reached.TrySetResult();
                await release.Task.WaitAsync(ct);
            }
        }, Fast());
        await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        var before = await p.GetStatusAsync();
        Assert.Equal(ProjectionState.Running, before.State);
        Assert.Null(before.RebuildTarget);
        Assert.Null(before.RebuildPercent);

        Volatile.Write(ref armed, true);
        await p.RebuildAsync((_, _) => Task.CompletedTask);
        await reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var during = await p.GetStatusAsync();
        Assert.Equal(ProjectionState.Rebuilding, during.State);
        Assert.NotNull(during.RebuildTarget);
        var target = during.RebuildTarget.Value;
        Assert.True(target >= before.Offset, $"target {target}, offset before {before.Offset}"); // the journal's newest at the rebuild
        Assert.True(during.Offset < target, $"offset {during.Offset} of {target}");
        Assert.Equal((int)(100 * during.Offset / target), during.RebuildPercent);

        Volatile.Write(ref armed, false);
        release.TrySetResult();
        await p.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));
        var after = await p.GetStatusAsync();
        Assert.Equal(ProjectionState.Running, after.State);
        Assert.Null(after.RebuildTarget);
        Assert.Null(after.RebuildPercent);
        Assert.True(after.Offset >= target, $"offset {after.Offset}, target {target}");
    }
}

public sealed class SqliteProjectionOperationsSpec : ProjectionOperationsSpec
{
    protected override TestStore NewStore() => TestStore.NewSqlite();
}

public sealed class PostgreSqlProjectionOperationsSpec : ProjectionOperationsSpec
{
    protected override TestStore NewStore() => TestStore.PostgreSql();
}
