using Akka.EventDriven.Sagas;

namespace Akka.EventDriven.TestKit;

/// <summary>A saga's status with assertions on it (chainable).</summary>
public sealed class SagaExpectation
{
    private readonly SagaProbe _probe;

    internal SagaExpectation(SagaProbe probe, SagaStatus status)
    {
        _probe = probe;
        Status = status;
    }

    /// <summary>The recorded status.</summary>
    public SagaStatus Status { get; }

    /// <summary>The saga completed exactly these steps, in this order.</summary>
    public SagaExpectation WithCompletedSteps(params string[] steps)
    {
        if (!Status.CompletedSteps.SequenceEqual(steps))
            throw new EventDrivenAssertionException(
                $"Saga {Status.SagaId}: expected completed steps [{string.Join(", ", steps)}], actual [{string.Join(", ", Status.CompletedSteps)}].\n{SagaProbe.Describe(Status)}");
        return this;
    }

    /// <summary>The saga compensated exactly these steps, in this order (the platform compensates newest first).</summary>
    public SagaExpectation WithCompensations(params string[] steps)
    {
        if (!Status.CompensatedSteps.SequenceEqual(steps))
        {
            var hint = Status.CompensatedSteps.OrderBy(x => x).SequenceEqual(steps.OrderBy(x => x))
                ? " (the same steps in another order)"
                : "";
            throw new EventDrivenAssertionException(
                $"Saga {Status.SagaId}: expected compensations [{string.Join(", ", steps)}], actual [{string.Join(", ", Status.CompensatedSteps)}]{hint}.\n{SagaProbe.Describe(Status)}");
        }
        return this;
    }

    /// <summary>The step's action failed exactly <paramref name="count"/> times (retries, a timeout).</summary>
    public SagaExpectation WithFailedAttempts(string stepId, int count)
    {
        var failed = Status.History.Count(a => a.StepId == stepId && !a.Compensation && !a.Succeeded);
        if (failed != count)
            throw new EventDrivenAssertionException(
                $"Saga {Status.SagaId}: expected {MessageText.Count(count, "failed attempt")} of step {stepId}, actual {failed}.\n{SagaProbe.Describe(Status)}");
        return this;
    }

    /// <summary>Runs <paramref name="assertion"/> on the saga's data (as of its last completed step).</summary>
    public SagaExpectation WithData<TData>(Action<TData> assertion)
    {
        var data = _probe.Orchestrator.DataOf<TData>(Status);
        try { assertion(data); }
        catch (Exception e) when (e is not EventDrivenAssertionException)
        {
            throw new EventDrivenAssertionException($"Saga {Status.SagaId}: its data {Status.Data.GetRawText()} is not as expected: {e.Message}\n{SagaProbe.Describe(Status)}", e);
        }
        return this;
    }
}
