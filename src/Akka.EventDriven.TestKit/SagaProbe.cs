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
