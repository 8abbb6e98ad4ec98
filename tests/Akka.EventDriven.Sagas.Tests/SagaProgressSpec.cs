using System.Text.Json;
using Akka.EventDriven.Sagas.Internal;

namespace Akka.EventDriven.Sagas.Tests;

/// <summary>
/// The saga's journal fold and its decisions, without an actor: <see cref="SagaProgress"/> is pure, so every rule of
/// retries, compensation order, cut-off steps and deadlines is checked here event by event.
/// </summary>
public sealed class SagaProgressSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly JsonElement Data = JsonDocument.Parse("{\"n\":1}").RootElement.Clone();

    // reserve (compensated), notify (no compensation), charge (compensated; 2 attempts), ship (compensated).
    private static readonly SagaDefinition<OrderData> Order = SagaDefinition.Define<OrderData>("progress-order", s => s
        .Step("reserve", "Reserve", Nothing, compensation: Nothing)
        .Step("notify", "Notify", Nothing)
        .Step("charge", "Charge", Nothing, compensation: Nothing, retry: RetryPolicy.Exponential(2, TimeSpan.FromSeconds(10)),
            compensationRetry: RetryPolicy.Exponential(2, TimeSpan.FromSeconds(1)))
        .Step("ship", "Ship", Nothing, compensation: Nothing, onTimeout: StepTimeoutPolicy.Abandon));

    private static Task Nothing(SagaContext<OrderData> context, CancellationToken ct) => Task.CompletedTask;

    private static SagaProgress Fold(params ISagaEvent[] events) => events.Aggregate(SagaProgress.None, (p, e) => p.Apply(e));

    private static SagaProgress Started(TimeSpan? deadline = null) =>
        Fold(new SagaStarted(Order.Name, Data, deadline is { } d ? T0 + d : null, "corr-1", T0));

    [Fact]
    public void A_running_saga_runs_its_steps_in_order_and_the_last_completion_completes_it_in_the_same_write()
    {
        var p = Started();
        Assert.Equal((SagaState.Running, "reserve"), (p.State, p.NextStep(Order)));
        Assert.Equal(new SagaDecision.Run(0, false), p.Next(Order, T0));
        foreach (var (step, i) in new[] { "reserve", "notify", "charge" }.Select((s, i) => (s, i)))
        {
            var events = p.Outcome(Order, step, Data, null, false, T0.AddSeconds(i));
            Assert.Equal([new SagaStepCompleted(step, 1, Data, T0.AddSeconds(i))], events);
            p = events.Aggregate(p, (q, e) => q.Apply(e));
        }
        Assert.Equal(new SagaDecision.Run(3, false), p.Next(Order, T0));
        var last = p.Outcome(Order, "ship", Data, null, false, T0.AddSeconds(9));
        Assert.Equal([typeof(SagaStepCompleted), typeof(SagaCompleted)], last.Select(e => e.GetType()));
        p = last.Aggregate(p, (q, e) => q.Apply(e));
        Assert.Equal((SagaState.Completed, T0.AddSeconds(9), false), (p.State, p.FinishedAt, p.IsActive));
        Assert.Equal(["reserve", "notify", "charge", "ship"], p.Completed);
        Assert.Equal(4, p.History.Count);
    }

    [Fact]
    public void A_failed_attempt_is_retried_after_its_backoff_and_the_last_one_compensates_the_completed_steps_latest_first()
    {
        var p = Fold(new SagaStarted(Order.Name, Data, null, null, T0), new SagaStepCompleted("reserve", 1, Data, T0),
            new SagaStepCompleted("notify", 1, Data, T0));
        var failed = Assert.IsType<SagaStepFailed>(Assert.Single(p.Outcome(Order, "charge", null, "card declined", false, T0)));
        Assert.Equal(("charge", 1), (failed.StepId, failed.Attempt));
        Assert.InRange(failed.RetryAt!.Value, T0.AddSeconds(8), T0.AddSeconds(12)); // 10 s, ±20 % jitter
        p = p.Apply(failed);
        Assert.Equal(new SagaDecision.WaitUntil(failed.RetryAt.Value), p.Next(Order, T0.AddSeconds(1)));
        Assert.Equal(new SagaDecision.Run(2, false), p.Next(Order, failed.RetryAt.Value));

        var gaveUp = p.Outcome(Order, "charge", null, "card declined", false, T0.AddSeconds(20));
        Assert.Equal(2, Assert.IsType<SagaStepFailed>(gaveUp[0]).Attempt);
        var compensating = Assert.IsType<SagaCompensating>(gaveUp[1]);
        Assert.Equal(("Step 'charge' failed after 2 attempt(s): card declined", null), (compensating.Reason, compensating.TimedOutStep));
        p = gaveUp.Aggregate(p, (q, e) => q.Apply(e));

        // notify has no compensation: reserve is next, then nothing is left.
        Assert.Equal(new SagaDecision.Run(0, true), p.Next(Order, T0.AddSeconds(20)));
        p = p.Apply(Assert.Single(p.Outcome(Order, "reserve", null, null, false, T0.AddSeconds(21))));
        Assert.Equal(["reserve"], p.Compensated);
        var finish = Assert.IsType<SagaDecision.Finish>(p.Next(Order, T0.AddSeconds(21)));
        Assert.Equal(compensating.Reason, Assert.IsType<SagaCompensated>(Assert.Single(finish.Events)).Reason);
    }

    [Fact]
    public void A_step_whose_attempt_timed_out_is_compensated_too_unless_its_policy_ignores_timeouts()
    {
        var p = Fold(new SagaStarted(Order.Name, Data, null, null, T0), new SagaStepCompleted("reserve", 1, Data, T0),
            new SagaStepCompleted("notify", 1, Data, T0));
        p = p.Apply(Assert.Single(p.Outcome(Order, "charge", null, "timed out", true, T0)));
        Assert.True(p.CurrentStepTimedOut);
        // The second attempt fails without a timeout; the first one's may still have charged: charge is cut off.
        var gaveUp = p.Outcome(Order, "charge", null, "card declined", false, T0.AddSeconds(15));
        Assert.Equal("charge", Assert.IsType<SagaCompensating>(gaveUp[1]).TimedOutStep);
        p = gaveUp.Aggregate(p, (q, e) => q.Apply(e));
        Assert.Equal(new SagaDecision.Run(2, true), p.Next(Order, T0.AddSeconds(15)));   // charge first, then reserve
        p = p.Apply(Assert.Single(p.Outcome(Order, "charge", null, null, false, T0.AddSeconds(16))));
        Assert.Equal(new SagaDecision.Run(0, true), p.Next(Order, T0.AddSeconds(16)));

        // ship abandons a timed-out attempt: a timed-out last attempt compensates the others but not ship itself.
        var atShip = Fold(new SagaStarted(Order.Name, Data, null, null, T0), new SagaStepCompleted("reserve", 1, Data, T0),
            new SagaStepCompleted("notify", 1, Data, T0), new SagaStepCompleted("charge", 1, Data, T0));
        Assert.Null(Assert.IsType<SagaCompensating>(atShip.Outcome(Order, "ship", null, "timed out", true, T0)[1]).TimedOutStep);
    }

    [Fact]
    public void A_failing_compensation_is_retried_and_its_last_failure_fails_the_saga()
    {
        var p = Fold(new SagaStarted(Order.Name, Data, null, null, T0), new SagaStepCompleted("reserve", 1, Data, T0),
            new SagaStepCompleted("notify", 1, Data, T0), new SagaStepCompleted("charge", 1, Data, T0),
            new SagaStepFailed("ship", 1, "no truck", false, null, T0), new SagaCompensating("no truck", T0));
        Assert.Equal(new SagaDecision.Run(2, true), p.Next(Order, T0));
        var retry = Assert.IsType<SagaCompensationFailed>(Assert.Single(p.Outcome(Order, "charge", null, "bank down", false, T0)));
        Assert.NotNull(retry.RetryAt);
        p = p.Apply(retry);
        var end = p.Outcome(Order, "charge", null, "bank down", false, T0.AddSeconds(5));
        Assert.Equal("Compensation of step 'charge' failed after 2 attempt(s): bank down (while compensating because: no truck)",
            Assert.IsType<SagaFailed>(end[1]).Reason);
        p = end.Aggregate(p, (q, e) => q.Apply(e));
        Assert.Equal((SagaState.Failed, false), (p.State, p.IsActive));
    }

    [Fact]
    public void A_passed_deadline_fails_the_cut_off_attempt_and_compensates_it_and_nothing_happens_once_not_running()
    {
        var p = Started(TimeSpan.FromMinutes(1)).Apply(new SagaStepCompleted("reserve", 1, Data, T0));
        Assert.Equal(new SagaDecision.Run(1, false), p.Next(Order, T0.AddSeconds(59)));
        Assert.Equal(SagaDecision.Deadline, p.Next(Order, T0.AddMinutes(1)));

        var cut = p.DeadlinePassed(Order, "notify", T0.AddMinutes(1));
        var failed = Assert.IsType<SagaStepFailed>(cut[0]);
        Assert.Equal(("notify", 1, true), (failed.StepId, failed.Attempt, failed.TimedOut));
        Assert.Equal("notify", Assert.IsType<SagaCompensating>(cut[1]).TimedOutStep);

        // Waiting to retry a step whose earlier attempt timed out: that step is cut off too.
        var waiting = p.Apply(new SagaStepFailed("notify", 1, "timed out", true, T0.AddMinutes(5), T0));
        Assert.Equal("notify", Assert.IsType<SagaCompensating>(Assert.Single(waiting.DeadlinePassed(Order, null, T0.AddMinutes(1)))).TimedOutStep);
        // Nothing ran and nothing timed out: nothing is cut off.
        Assert.Null(Assert.IsType<SagaCompensating>(Assert.Single(p.DeadlinePassed(Order, null, T0.AddMinutes(1)))).TimedOutStep);

        var compensating = cut.Aggregate(p, (q, e) => q.Apply(e));
        Assert.Empty(compensating.DeadlinePassed(Order, null, T0.AddMinutes(2)));
    }

    [Fact]
    public void A_journal_naming_a_step_the_definition_lacks_is_refused_with_the_step_name()
    {
        var p = Fold(new SagaStarted(Order.Name, Data, null, null, T0), new SagaStepCompleted("renamed", 1, Data, T0),
            new SagaCompensating("x", T0));
        var e = Assert.Throws<InvalidOperationException>(() => p.Next(Order, T0));
        Assert.Contains("has no step 'renamed'", e.Message);
    }
}
