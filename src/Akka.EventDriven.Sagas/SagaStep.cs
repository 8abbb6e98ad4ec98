namespace Akka.EventDriven.Sagas;

/// <summary>One step of a saga definition.</summary>
/// <typeparam name="TData">The saga's data type.</typeparam>
/// <param name="Id">Stable step id (recorded in the journal: do not rename steps of running sagas).</param>
/// <param name="Name">Display name.</param>
/// <param name="Action">The step's work.</param>
/// <param name="Compensation">Undoes the step's work when a later step fails for good; null = nothing to undo.</param>
/// <param name="Retry">Attempts of the action.</param>
/// <param name="CompensationRetry">Attempts of the compensation.</param>
/// <param name="Timeout">Longest time one attempt (of the action or the compensation) may take; it counts as failed after.</param>
public sealed record SagaStep<TData>(
    string Id,
    string Name,
    Func<SagaContext<TData>, CancellationToken, Task> Action,
    Func<SagaContext<TData>, CancellationToken, Task>? Compensation,
    RetryPolicy Retry,
    RetryPolicy CompensationRetry,
    TimeSpan Timeout) where TData : class
{
    /// <summary>Whether a step cut off by its timeout or the deadline is compensated too. Default:
    /// <see cref="StepTimeoutPolicy.Compensate"/>.</summary>
    public StepTimeoutPolicy OnTimeout { get; init; } = StepTimeoutPolicy.Compensate;

    /// <summary>When true, a retry (of the action or of the compensation) may start while the timed-out attempt before
    /// it is still running. Default: false, the retry waits until that attempt's task finished.</summary>
    public bool AllowConcurrentRetry { get; init; }
}
