using System.Collections.Concurrent;
using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas.Tests;

/// <summary>One node with the test sagas, shared by the tests of one store (each test uses its own saga ids).</summary>
public abstract class SagaNode(TestStore store) : IAsyncLifetime
{
    public TestStore Store { get; } = store;
    public NodeHost Host { get; private set; } = null!;
    public SagaOrchestrator Sagas => SagaOrchestrator.Get(Host.System);
    public ConcurrentQueue<SagaLifecycleEvent> Published { get; } = new();
    public string IndexTable { get; } = $"saga_index_{Guid.NewGuid():N}"[..24];

    public async Task InitializeAsync() => Host = await StartNodeAsync(Store, IndexTable, Published);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    /// <summary>A node the way users build it: WithEventDriven + WithSagas, lifecycle events into <paramref name="published"/>.</summary>
    public static Task<NodeHost> StartNodeAsync(TestStore store, string indexTable, ConcurrentQueue<SagaLifecycleEvent>? published = null,
        string? extraHocon = null, string systemName = "edtest") =>
        NodeHost.StartAsync(store, extraHocon: extraHocon, systemName: systemName, configure: b => b.WithSagas(s =>
        {
            s.Add(TestSagas.Order).Add(TestSagas.Blocking).Add(TestSagas.Quick).Add(TestSagas.Slow).Add(TestSagas.SlowRetry)
                .Add(TestSagas.SlowAbandoned).Add(TestSagas.SlowConcurrentRetry).Add(TestSagas.Deadline)
                .Add(TestSagas.SlowForResume);
            s.IndexTable = indexTable;
            s.PassivateAfterFinish = TimeSpan.FromMilliseconds(500);
            s.ResumeInterval = TimeSpan.FromSeconds(2);
            if (published is not null)
                s.Publisher = _ => new DelegateSagaEventPublisher((e, _) =>
                {
                    published.Enqueue(e);
                    return Task.CompletedTask;
                });
        }));
}

public sealed class SqliteSagaNode() : SagaNode(TestStore.NewSqlite());

public sealed class PostgreSqlSagaNode() : SagaNode(TestStore.PostgreSql());

/// <summary>The saga contract, run against SQLite and PostgreSQL.</summary>
public abstract class SagaSpec<TNode>(TNode node) : IClassFixture<TNode> where TNode : SagaNode
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private SagaOrchestrator Sagas => node.Sagas;

    private async Task<SagaStatus> RunOrderAsync(OrderData data, SagaStartOptions? options = null)
    {
        var id = await Sagas.ExecuteAsync(TestSagas.Order.Name, data, options);
        return await Sagas.WaitForCompletionAsync(id, Wait);
    }

    [Fact]
    public async Task Saga_runs_every_step_in_order_passes_data_along_and_completes()
    {
        var status = await RunOrderAsync(new OrderData { OrderId = "o-1" });

        Assert.Equal(SagaState.Completed, status.State);
        Assert.Equal(["s0", "s1", "s2", "s3"], status.CompletedSteps);
        Assert.Empty(status.CompensatedSteps);
        Assert.Null(status.CurrentStep);
        var data = Sagas.DataOf<OrderData>(status);
        Assert.Equal(["s0", "s1", "s2", "s3"], data.Done);
        Assert.Equal(10, data.Total);
        Assert.Equal("o-1", data.OrderId);
        Assert.All(status.History, a => Assert.True(a.Succeeded && a.Attempt == 1 && !a.Compensation));
        Assert.Equal(["do:s0", "do:s1", "do:s2", "do:s3"], Effects.Of(status.SagaId).Where(e => !e.StartsWith("try")));
        Assert.NotNull(status.FinishedAt);

        // Lifecycle events: published in journal order, after they were stored.
        await TestWait.UntilAsync(() =>
        {
            var events = node.Published.Where(e => e.SagaId == status.SagaId).ToList();
            Assert.Equal([typeof(SagaStarted), typeof(SagaStepCompleted), typeof(SagaStepCompleted), typeof(SagaStepCompleted),
                typeof(SagaStepCompleted), typeof(SagaCompleted)], events.Select(e => e.Event.GetType()));
            Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), events.Select(e => e.SequenceNr));
            Assert.Equal(SagaState.Completed, events[^1].State);
            return Task.CompletedTask;
        });

        // The journal events carry the saga tags, for projections.
        Assert.Equal(["saga", "saga:test-order"], await TagsAsync($"saga:{status.SagaId}"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Failure_at_each_step_compensates_exactly_the_completed_steps_in_reverse_order(int failStep)
    {
        var status = await RunOrderAsync(new OrderData { FailStep = failStep });

        Assert.Equal(SagaState.Compensated, status.State);
        var completed = Enumerable.Range(0, failStep).Select(i => $"s{i}").ToArray();
        Assert.Equal(completed, status.CompletedSteps);
        Assert.Equal(completed.Reverse(), status.CompensatedSteps);
        var effects = Effects.Of(status.SagaId);
        Assert.Equal(completed.Reverse().Select(s => $"undo:{s}"), effects.Where(e => e.StartsWith("undo")));
        Assert.Equal(3, effects.Count(e => e == $"try:s{failStep}"));
        Assert.DoesNotContain($"do:s{failStep}", effects);
        Assert.Contains($"s{failStep}", status.Reason);
        var failures = status.History.Where(a => a.StepId == $"s{failStep}").ToList();
        Assert.Equal([1, 2, 3], failures.Select(a => a.Attempt));
        Assert.All(failures, a => Assert.False(a.Succeeded));
        Assert.All(failures, a => Assert.Contains("failed", a.Error));
    }

    [Fact]
    public async Task A_failing_step_is_retried_with_exponential_backoff_and_then_succeeds()
    {
        var status = await RunOrderAsync(new OrderData { FailStep = 1, FailTimes = 2 });

        Assert.Equal(SagaState.Completed, status.State);
        var s1 = status.History.Where(a => a.StepId == "s1").ToList();
        Assert.Equal([(1, false), (2, false), (3, true)], s1.Select(a => (a.Attempt, a.Succeeded)));
        // The policy waits 100 ms after the first failure and 200 ms after the second (no jitter).
        Assert.True(s1[1].At - s1[0].At >= TimeSpan.FromMilliseconds(100), $"first backoff was {(s1[1].At - s1[0].At).TotalMilliseconds} ms");
        Assert.True(s1[2].At - s1[1].At >= TimeSpan.FromMilliseconds(200), $"second backoff was {(s1[2].At - s1[1].At).TotalMilliseconds} ms");
        Assert.Equal(1, Effects.Count(status.SagaId, "do:s1"));
        Assert.DoesNotContain(Effects.Of(status.SagaId), e => e.StartsWith("undo"));
    }

    [Fact]
    public async Task A_step_exceeding_its_timeout_fails_each_attempt_and_the_saga_is_compensated()
    {
        var status = await RunOrderAsync(new OrderData { HangStep = 2 });

        Assert.Equal(SagaState.Compensated, status.State);
        var s2 = status.History.Where(a => a.StepId == "s2" && !a.Compensation).ToList();
        Assert.Equal(3, s2.Count);
        Assert.All(s2, a => Assert.True(a.TimedOut && !a.Succeeded));
        Assert.All(s2, a => Assert.Contains("timed out", a.Error));
        // The timed-out step is compensated too (the default policy): its abandoned attempts may have had an effect.
        Assert.Equal(["undo:s2", "undo:s1", "undo:s0"], Effects.Of(status.SagaId).Where(e => e.StartsWith("undo")));
        Assert.Equal(["s0", "s1"], status.CompletedSteps);
    }

    [Fact]
    public async Task A_compensation_that_keeps_failing_leaves_the_saga_failed_with_everything_recorded()
    {
        var status = await RunOrderAsync(new OrderData { FailStep = 2, FailCompensationStep = 1 });

        Assert.Equal(SagaState.Failed, status.State);
        Assert.Contains("s1", status.Reason);
        Assert.Contains("s2", status.Reason); // why it was compensating
        var compensations = status.History.Where(a => a.Compensation).ToList();
        Assert.Equal([("s1", 1, false), ("s1", 2, false)], compensations.Select(a => (a.StepId, a.Attempt, a.Succeeded)));
        Assert.Empty(status.CompensatedSteps);
        Assert.Equal(["s0", "s1"], status.CompletedSteps);
        Assert.NotNull(status.FinishedAt);
    }

    [Fact]
    public async Task A_saga_past_its_overall_deadline_is_compensated()
    {
        // The deadline counts from ExecuteAsync (before the index write): generous, so a loaded machine still runs s0
        // before it; s1 hangs until cancelled, with a timeout and retries far beyond the deadline.
        var id = await Sagas.ExecuteAsync(TestSagas.Deadline.Name, new OrderData(), new SagaStartOptions { Deadline = TimeSpan.FromSeconds(3) });
        var status = await Sagas.WaitForCompletionAsync(id, Wait);

        Assert.Equal(SagaState.Compensated, status.State);
        Assert.Contains("deadline", status.Reason);
        Assert.Equal(["s0"], status.CompletedSteps);
        // The step cut off by the deadline may have had its effect: it is compensated too (the default policy).
        Assert.Equal(["undo:s1", "undo:s0"], Effects.Of(status.SagaId).Where(e => e.StartsWith("undo")));
        Assert.Equal(["s1", "s0"], status.CompensatedSteps);
        var s1 = Assert.Single(status.History, a => a.StepId == "s1" && !a.Compensation); // the deadline cut the retries short
        Assert.True(s1.TimedOut);
    }

    [Fact]
    public async Task Status_shows_the_running_step_and_an_unknown_id_has_no_status()
    {
        var id = await Sagas.ExecuteAsync(TestSagas.Order.Name, new OrderData { HangStep = 3 });
        await TestWait.UntilAsync(async () =>
        {
            var running = await Sagas.GetStatusAsync(id);
            Assert.NotNull(running);
            Assert.Equal(SagaState.Running, running.State);
            Assert.Equal("s3", running.CurrentStep);
            Assert.Equal(3, running.CompletedSteps.Count);
        });
        Assert.Equal(SagaState.Compensated, (await Sagas.WaitForCompletionAsync(id, Wait)).State);
        Assert.Null(await Sagas.GetStatusAsync($"unknown-{Guid.NewGuid():N}"));
    }

    [Fact]
    public async Task Starting_the_same_saga_id_twice_runs_it_once()
    {
        var options = new SagaStartOptions { SagaId = $"once-{Guid.NewGuid():N}" };
        var first = await Sagas.ExecuteAsync(TestSagas.Order.Name, new OrderData(), options);
        var second = await Sagas.ExecuteAsync(TestSagas.Order.Name, new OrderData(), options);
        Assert.Equal(first, second);
        Assert.Equal(SagaState.Completed, (await Sagas.WaitForCompletionAsync(first, Wait)).State);
        Assert.Equal(1, Effects.Count(first, "do:s0"));
        await Assert.ThrowsAsync<ArgumentException>(() => Sagas.ExecuteAsync("no-such-saga", new OrderData()));
    }

    [Fact]
    public async Task A_nul_character_in_a_saga_id_or_correlation_id_is_rejected_with_a_clear_argument_exception()
    {
        var badId = await Assert.ThrowsAsync<ArgumentException>(() =>
            Sagas.ExecuteAsync(TestSagas.Quick.Name, new OrderData(), new SagaStartOptions { SagaId = $"nul-\0-{Guid.NewGuid():N}" }));
        Assert.Contains("NUL", badId.Message);
        var badCorrelation = await Assert.ThrowsAsync<ArgumentException>(() =>
            Sagas.ExecuteAsync(TestSagas.Quick.Name, new OrderData(), new SagaStartOptions { CorrelationId = "corr-\0" }));
        Assert.Contains("NUL", badCorrelation.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => Sagas.GetStatusAsync("nul-\0"));
        await Assert.ThrowsAsync<ArgumentException>(() => Sagas.WaitForCompletionAsync("nul-\0", TimeSpan.FromSeconds(5)));
        Assert.Throws<ArgumentException>(() => SagaDefinition.Define<OrderData>("nul-\0", s => s.Step("a", "A", (_, _) => Task.CompletedTask)));

        // The sagas started beside them are not affected.
        var status = await Sagas.RunAsync(TestSagas.Quick.Name, new OrderData(), Wait);
        Assert.Equal(SagaState.Completed, status.State);
    }

    [Fact]
    public async Task A_saga_index_batch_with_one_bad_request_fails_only_that_request()
    {
        var settings = new StoreSettings(node.Store.Provider, node.Store.ConnectionString).Validate();
        var table = $"saga_index_{Guid.NewGuid():N}"[..24];
        var errors = new ConcurrentQueue<Exception>();
        await using var index = await Internal.SagaIndex.OpenAsync(settings, table, errors.Enqueue);
        var ids = Enumerable.Range(0, 200).Select(i => $"ok-{i}-{Guid.NewGuid():N}").ToArray();
        // Queued together, so that they share batches; the bad one (no saga name: the table's NOT NULL refuses it)
        // sits in the middle.
        var good = ids.Take(100).Select(id => index.AddAsync(id, "test-quick")).ToList();
        var bad = index.AddAsync($"bad-{Guid.NewGuid():N}", null!);
        good.AddRange(ids.Skip(100).Select(id => index.AddAsync(id, "test-quick")));

        await Task.WhenAll(good).WaitAsync(TimeSpan.FromSeconds(30));
        await Assert.ThrowsAnyAsync<Exception>(() => bad.WaitAsync(TimeSpan.FromSeconds(30)));
        var rows = await index.ReadAllAsync(CancellationToken.None);
        Assert.Equal(ids.Order(StringComparer.Ordinal), rows.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.NotEmpty(errors);
    }

    private async Task<string[]> TagsAsync(string persistenceId)
    {
        var settings = new StoreSettings(node.Store.Provider, node.Store.ConnectionString).Validate();
        await using var connection = settings.CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT tag FROM tags WHERE persistence_id = @p ORDER BY tag";
        command.AddParameter("p", persistenceId);
        var tags = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) tags.Add(reader.GetString(0));
        return tags.ToArray();
    }
}

public sealed class SqliteSagaSpec(SqliteSagaNode node) : SagaSpec<SqliteSagaNode>(node);

public sealed class PostgreSqlSagaSpec(PostgreSqlSagaNode node) : SagaSpec<PostgreSqlSagaNode>(node);

/// <summary>With the default publisher, lifecycle events reach event bus subscribers.</summary>
public sealed class SagaBusSpec
{
    [Fact]
    public async Task Lifecycle_events_are_published_on_the_bus_by_default()
    {
        await using var host = await NodeHost.StartAsync(TestStore.NewSqlite(), configure: b => b.WithSagas(s =>
        {
            s.Add(TestSagas.Quick);
            s.IndexTable = $"saga_index_{Guid.NewGuid():N}"[..24];
        }));
        var bus = MessageBus.Get(host.System);
        var completed = new ConcurrentQueue<Akka.EventDriven.EventBus.BusMessage<SagaCompleted>>();
        var started = new ConcurrentQueue<string>();
        await using var a = await bus.SubscribeAsync<SagaCompleted>(BusSagaEventPublisher.TopicFor(TestSagas.Quick.Name), (m, _) =>
        {
            completed.Enqueue(m);
            return Task.CompletedTask;
        });
        await using var b = await bus.SubscribeAsync<SagaStarted>("saga.*", (m, _) =>
        {
            started.Enqueue(m.Headers["saga-id"]);
            return Task.CompletedTask;
        });
        var sagas = SagaOrchestrator.Get(host.System);
        var id = await sagas.ExecuteAsync(TestSagas.Quick.Name, new OrderData { OrderId = "bus-1" });
        await sagas.WaitForCompletionAsync(id, TimeSpan.FromSeconds(20));
        await TestWait.UntilAsync(() =>
        {
            var message = Assert.Single(completed, m => m.CorrelationId == id);
            Assert.Equal(TestSagas.Quick.Name, message.Headers["saga-name"]);
            Assert.Equal("Completed", message.Headers["saga-state"]);
            Assert.Contains(id, started);
            return Task.CompletedTask;
        });
    }
}
