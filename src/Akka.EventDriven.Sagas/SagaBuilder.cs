namespace Akka.EventDriven.Sagas;

/// <summary>Builds a <see cref="SagaDefinition{TData}"/> (see <see cref="SagaDefinition.Define{TData}"/>).</summary>
/// <typeparam name="TData">The saga's data type.</typeparam>
public sealed class SagaBuilder<TData> where TData : class
{
    internal List<(string Id, string Name, Func<SagaContext<TData>, CancellationToken, Task> Action,
        Func<SagaContext<TData>, CancellationToken, Task>? Compensation, RetryPolicy? Retry, TimeSpan? Timeout,
        RetryPolicy? CompensationRetry, StepTimeoutPolicy OnTimeout, bool AllowConcurrentRetry)> Steps { get; } = [];
    internal string? DisplayName { get; private set; }
    internal TimeSpan? SagaDeadline { get; private set; }
    internal RetryPolicy DefaultRetryPolicy { get; private set; } = RetryPolicy.None;
    internal RetryPolicy DefaultCompensationRetryPolicy { get; private set; } = RetryPolicy.Exponential(5, TimeSpan.FromMilliseconds(200));
    internal TimeSpan DefaultStepTimeout { get; private set; } = TimeSpan.FromSeconds(30);

    /// <summary>Adds a step, run after the steps added before it.</summary>
    /// <param name="id">Stable step id, unique in the saga.</param>
    /// <param name="name">Display name.</param>
    /// <param name="action">The work; must be idempotent (see <see cref="SagaContext{TData}.IdempotencyKey"/>).</param>
    /// <param name="compensation">Undoes the work; must be idempotent, and must tolerate running for an action that
    /// never took effect (with <paramref name="onTimeout"/> = Compensate a timed-out step is compensated too). Null:
    /// nothing to undo.</param>
    /// <param name="retry">Attempts of the action. Default: <see cref="DefaultRetry"/> (one attempt unless set).</param>
    /// <param name="timeout">Longest time per attempt. Default: <see cref="DefaultTimeout"/> (30 s unless set).</param>
    /// <param name="compensationRetry">Attempts of the compensation. Default: <see cref="DefaultCompensationRetry"/>
    /// (5 attempts, 200 ms exponential backoff, unless set).</param>
    /// <param name="onTimeout">Whether the step is compensated when an attempt of it was cut off by its timeout or the
    /// saga's deadline (the attempt may still take effect). Default: <see cref="StepTimeoutPolicy.Compensate"/>.</param>
    /// <param name="allowConcurrentRetry">Let a retry start while the timed-out attempt before it still runs. Default:
    /// false (the retry waits for that attempt's task to finish).</param>
    public SagaBuilder<TData> Step(string id, string name,
        Func<SagaContext<TData>, CancellationToken, Task> action,
        Func<SagaContext<TData>, CancellationToken, Task>? compensation = null,
        RetryPolicy? retry = null, TimeSpan? timeout = null, RetryPolicy? compensationRetry = null,
        StepTimeoutPolicy onTimeout = StepTimeoutPolicy.Compensate, bool allowConcurrentRetry = false)
    {
        if (!Enum.IsDefined(onTimeout)) throw new ArgumentException($"Unknown timeout policy {onTimeout}.", nameof(onTimeout));
        if (string.IsNullOrWhiteSpace(id)) throw new ArgumentException("A step id must not be empty.", nameof(id));
        if (id.Any(char.IsControl)) throw new ArgumentException($"Step id '{id}' must not contain control characters (such as NUL).", nameof(id));
        if (Steps.Any(s => s.Id == id)) throw new ArgumentException($"Step id '{id}' is used twice.", nameof(id));
        ArgumentNullException.ThrowIfNull(action);
        if (timeout is { } t && (t <= TimeSpan.Zero || t > RetryPolicy.MaxWait))
            throw new ArgumentException($"A step timeout must be positive and at most {RetryPolicy.MaxWait.TotalDays:0} days.", nameof(timeout));
        // Defaults are resolved in Define, so DefaultRetry/DefaultTimeout may be called after the steps.
        Steps.Add((id, string.IsNullOrWhiteSpace(name) ? id : name, action, compensation, retry?.Validate(), timeout,
            compensationRetry?.Validate(), onTimeout, allowConcurrentRetry));
        return this;
    }

    /// <summary>A display name for the saga. Default: its name.</summary>
    public SagaBuilder<TData> Named(string displayName)
    {
        DisplayName = displayName;
        return this;
    }

    /// <summary>The overall deadline, counted from the start: a saga still running then is compensated (its running
    /// step is cancelled). Default: none. <see cref="SagaStartOptions.Deadline"/> overrides it per instance.</summary>
    public SagaBuilder<TData> Deadline(TimeSpan deadline)
    {
        if (deadline <= TimeSpan.Zero) throw new ArgumentException("A deadline must be positive.", nameof(deadline));
        SagaDeadline = deadline;
        return this;
    }

    /// <summary>The retry policy of steps that set none. Default: <see cref="RetryPolicy.None"/>.</summary>
    public SagaBuilder<TData> DefaultRetry(RetryPolicy policy)
    {
        DefaultRetryPolicy = policy.Validate();
        return this;
    }

    /// <summary>The retry policy of compensations that set none. Default: 5 attempts, 200 ms exponential backoff.</summary>
    public SagaBuilder<TData> DefaultCompensationRetry(RetryPolicy policy)
    {
        DefaultCompensationRetryPolicy = policy.Validate();
        return this;
    }

    /// <summary>The per-attempt timeout of steps that set none. Default: 30 s.</summary>
    public SagaBuilder<TData> DefaultTimeout(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero || timeout > RetryPolicy.MaxWait)
            throw new ArgumentException($"A step timeout must be positive and at most {RetryPolicy.MaxWait.TotalDays:0} days.", nameof(timeout));
        DefaultStepTimeout = timeout;
        return this;
    }
}
