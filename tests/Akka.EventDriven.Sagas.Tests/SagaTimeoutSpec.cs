namespace Akka.EventDriven.Sagas.Tests;

/// <summary>A step cut off by its timeout (or the saga's deadline) may still have its effect: by default it is
/// compensated too, and a retry never runs beside the attempt it replaces. Run against SQLite and PostgreSQL.</summary>
public abstract class SagaTimeoutSpec<TNode>(TNode node) : IClassFixture<TNode> where TNode : SagaNode
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private SagaOrchestrator Sagas => node.Sagas;

    private async Task<SagaStatus> RunAsync(string saga, SagaStartOptions? options = null)
    {
        var id = await Sagas.ExecuteAsync(saga, new OrderData(), options);
        return await Sagas.WaitForCompletionAsync(id, Wait);
    }

    [Fact]
    public async Task A_step_that_times_out_while_its_action_still_runs_is_compensated_once_by_default()
    {
        var status = await RunAsync(TestSagas.Slow.Name);

        Assert.Equal(SagaState.Compensated, status.State);
        Assert.Equal(["first"], status.CompletedSteps);
        Assert.Equal(["slow", "first"], status.CompensatedSteps);
        var effects = Effects.Of(status.SagaId);
        Assert.Equal(1, Effects.Count(status.SagaId, "undo:slow"));
        Assert.Equal(1, Effects.Count(status.SagaId, "undo:first"));
        // The compensation of the cut-off step waits for its abandoned attempt: it never runs beside it.
        Assert.True(effects.ToList().IndexOf("end:slow") is >= 0 and var end && end < effects.ToList().IndexOf("undo:slow"),
            $"effects: {string.Join(", ", effects)}");
    }

    [Fact]
    public async Task A_step_that_times_out_is_not_compensated_when_its_policy_is_abandon()
    {
        var status = await RunAsync(TestSagas.SlowAbandoned.Name);

        Assert.Equal(SagaState.Compensated, status.State);
        Assert.Equal(["first"], status.CompensatedSteps);
        Assert.Equal(0, Effects.Count(status.SagaId, "undo:slow"));
        Assert.Equal(1, Effects.Count(status.SagaId, "undo:first"));
        // Still, the saga does not call itself finished while the abandoned attempt runs.
        Assert.Contains("end:slow", Effects.Of(status.SagaId));
    }

    [Fact]
    public async Task A_step_that_allows_concurrent_retries_starts_its_retry_beside_the_timed_out_attempt()
    {
        var status = await RunAsync(TestSagas.SlowConcurrentRetry.Name);

        Assert.Equal(SagaState.Completed, status.State);
        Assert.Equal(2, Attempts.MaxConcurrent(status.SagaId)); // the first attempt ran until the second had started
    }

    [Fact]
    public async Task A_retry_does_not_start_until_the_previous_attempt_of_the_step_has_finished()
    {
        var status = await RunAsync(TestSagas.SlowRetry.Name);

        Assert.Equal(SagaState.Completed, status.State);
        var attempts = status.History.Where(a => a.StepId == "slow").ToList();
        Assert.Equal([(1, false, true), (2, true, false)], attempts.Select(a => (a.Attempt, a.Succeeded, a.TimedOut)));
        Assert.Equal(1, Attempts.MaxConcurrent(status.SagaId));
        Assert.Equal(["try:1", "end:1", "try:2", "end:2"], Effects.Of(status.SagaId));
    }
}

public sealed class SqliteSagaTimeoutSpec(SqliteSagaNode node) : SagaTimeoutSpec<SqliteSagaNode>(node);

public sealed class PostgreSqlSagaTimeoutSpec(PostgreSqlSagaNode node) : SagaTimeoutSpec<PostgreSqlSagaNode>(node);
