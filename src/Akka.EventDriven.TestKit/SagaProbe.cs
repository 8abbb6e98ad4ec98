using Akka.Actor;
using Akka.EventDriven.Sagas;

namespace Akka.EventDriven.TestKit;

/// <summary>
/// Awaits a saga instance's state and asserts the order of its completed steps and of its compensations. Failures show
/// the saga's recorded status and every attempt of its history.
/// </summary>
/// <example><code>
/// var sagas = node.SagaProbe();
/// string id = await SagaOrchestrator.Get(node.System).ExecuteAsync("booking", new Booking());
/// (await sagas.ExpectStateAsync(id, SagaState.Compensated))
///     .WithCompletedSteps("reserve", "charge")
///     .WithCompensations("charge", "reserve");
/// </code></example>
public sealed class SagaProbe
{
    private readonly ActorSystem _system;

    internal SagaProbe(ActorSystem system) => _system = system;

    /// <summary>The node's saga orchestrator.</summary>
    public SagaOrchestrator Orchestrator => SagaOrchestrator.Get(_system);

    /// <summary>Default wait: 30 s.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Waits until saga <paramref name="sagaId"/> is in <paramref name="state"/>. Fails at once when it
    /// finished in another state (a finished saga never changes again).</summary>
    public async Task<SagaExpectation> ExpectStateAsync(string sagaId, SagaState state, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        SagaStatus? last = null;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            last = await Orchestrator.GetStatusAsync(sagaId);
            if (last?.State == state) return new SagaExpectation(this, last);
            if (last is { IsFinished: true })
                throw new EventDrivenAssertionException($"Saga {sagaId}: expected {state}, but it finished {last.State}.\n{Describe(last)}");
            if (DateTime.UtcNow > deadline)
                throw new EventDrivenAssertionException(last is null
                    ? $"Saga {sagaId}: expected {state} within {limit}, but no saga with this id was started."
                    : $"Saga {sagaId}: expected {state} within {limit}, but it is still {last.State}.\n{Describe(last)}");
            await Task.Delay(25);
        }
    }

    /// <summary>Waits until the saga finished (completed, compensated or failed), whichever it is.</summary>
    public async Task<SagaExpectation> ExpectFinishedAsync(string sagaId, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        try
        {
            return new SagaExpectation(this, await Orchestrator.WaitForCompletionAsync(sagaId, limit));
        }
        catch (TimeoutException e)
        {
            var now = await Orchestrator.GetStatusAsync(sagaId);
            throw new EventDrivenAssertionException($"Saga {sagaId}: expected it to finish within {limit}, but it is still " +
                                                    $"{now?.State}.\n{(now is null ? "" : Describe(now))}", e);
        }
    }

    internal static string Describe(SagaStatus s) =>
        $"Saga {s.SagaId} ({s.SagaName}): {s.State}{(s.CurrentStep is null ? "" : $" at step {s.CurrentStep}")}" +
        (s.Reason is null ? "" : $", reason: {s.Reason}") +
        $"\n  completed steps: [{string.Join(", ", s.CompletedSteps)}]\n  compensated steps: [{string.Join(", ", s.CompensatedSteps)}]" +
        "\n  history:" + (s.History.Count == 0 ? " (none)" : "") +
        string.Concat(s.History.Select(a => $"\n    {(a.Compensation ? "compensate " : "")}{a.StepId} attempt {a.Attempt}: " +
                                            (a.Succeeded ? "ok" : a.TimedOut ? "timed out" : $"failed ({a.Error})")));
}

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
