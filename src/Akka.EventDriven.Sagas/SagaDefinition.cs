using System.Text.Json;

namespace Akka.EventDriven.Sagas;

/// <summary>
/// How often a step's action (or compensation) is attempted, and how long to wait between attempts: exponential
/// backoff (<c>InitialBackoff * Multiplier^(n-1)</c>, at most <see cref="MaxBackoff"/>) with random jitter.
/// </summary>
/// <param name="MaxAttempts">Attempts in total, 1 or more (1 = no retry).</param>
/// <param name="InitialBackoff">Wait after the first failed attempt.</param>
/// <param name="MaxBackoff">Longest wait between two attempts (the cap).</param>
/// <param name="Multiplier">Growth of the wait per failed attempt. Default 2.</param>
/// <param name="Jitter">Random spread of each wait, 0 to 1 (0.2 = ±20 %). Default 0.2.</param>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan InitialBackoff, TimeSpan MaxBackoff, double Multiplier = 2.0, double Jitter = 0.2)
{
    /// <summary>One attempt, no retry.</summary>
    public static readonly RetryPolicy None = new(1, TimeSpan.Zero, TimeSpan.Zero, 1, 0);

    /// <summary>Up to <paramref name="maxAttempts"/> attempts with exponential backoff starting at
    /// <paramref name="initialBackoff"/>, capped at <paramref name="maxBackoff"/> (default 30 s).</summary>
    public static RetryPolicy Exponential(int maxAttempts, TimeSpan initialBackoff, TimeSpan? maxBackoff = null,
        double multiplier = 2.0, double jitter = 0.2) =>
        new RetryPolicy(maxAttempts, initialBackoff, maxBackoff ?? TimeSpan.FromSeconds(30), multiplier, jitter).Validate();

    /// <summary>The wait after failed attempt number <paramref name="failedAttempt"/> (1-based).</summary>
    public TimeSpan BackoffAfter(int failedAttempt)
    {
        if (InitialBackoff <= TimeSpan.Zero) return TimeSpan.Zero;
        var ms = InitialBackoff.TotalMilliseconds * Math.Pow(Multiplier, Math.Max(0, failedAttempt - 1));
        ms = Math.Min(ms, MaxBackoff.TotalMilliseconds);
        if (Jitter > 0) ms *= 1 + Jitter * (2 * Random.Shared.NextDouble() - 1);
        if (!double.IsFinite(ms)) ms = MaxBackoff.TotalMilliseconds;
        return TimeSpan.FromMilliseconds(Math.Clamp(ms, 0, Math.Min(MaxBackoff.TotalMilliseconds, MaxWait.TotalMilliseconds)));
    }

    /// <summary>Longest backoff or timeout accepted (timers beyond it overflow).</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromDays(24);

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range.</summary>
    public RetryPolicy Validate()
    {
        if (MaxAttempts < 1) throw new ArgumentException($"MaxAttempts must be at least 1, was {MaxAttempts}.");
        if (InitialBackoff < TimeSpan.Zero || MaxBackoff < TimeSpan.Zero) throw new ArgumentException("Backoffs must not be negative.");
        if (MaxBackoff > MaxWait || InitialBackoff > MaxWait) throw new ArgumentException($"Backoffs must be at most {MaxWait.TotalDays:0} days.");
        if (!double.IsFinite(Multiplier) || Multiplier < 1) throw new ArgumentException($"Multiplier must be a number of at least 1, was {Multiplier}.");
        if (!double.IsFinite(Jitter) || Jitter is < 0 or > 1) throw new ArgumentException($"Jitter must be between 0 and 1, was {Jitter}.");
        return this;
    }
}

/// <summary>What a step's action or compensation sees: the saga's typed data and the identity of this attempt.</summary>
/// <typeparam name="TData">The saga's data type (serialized as JSON with the platform's registry options).</typeparam>
public sealed class SagaContext<TData> where TData : class
{
    internal SagaContext(string sagaId, string sagaName, string stepId, int attempt, bool isCompensation, TData data)
    {
        SagaId = sagaId;
        SagaName = sagaName;
        StepId = stepId;
        Attempt = attempt;
        IsCompensation = isCompensation;
        Data = data;
        IdempotencyKey = isCompensation ? $"{sagaId}:{stepId}:compensate" : $"{sagaId}:{stepId}";
    }

    /// <summary>The saga instance id.</summary>
    public string SagaId { get; }

    /// <summary>The saga definition's name.</summary>
    public string SagaName { get; }

    /// <summary>The step being run or compensated.</summary>
    public string StepId { get; }

    /// <summary>1 for the first attempt of this step (or compensation) in this saga, counting only attempts whose
    /// failure was recorded: an attempt cut short by a crash is repeated with the same number.</summary>
    public int Attempt { get; }

    /// <summary>True when this is the step's compensation.</summary>
    public bool IsCompensation { get; }

    /// <summary>
    /// The same for every attempt of this step's action (<c>{sagaId}:{stepId}</c>), or of its compensation
    /// (<c>{sagaId}:{stepId}:compensate</c>), also when the attempt is repeated after a crash. Actions and
    /// compensations must be idempotent: pass this key to the service so that a repeat has no second effect.
    /// </summary>
    public string IdempotencyKey { get; }

    /// <summary>The saga's data. Changes made by an action are recorded when the step completes (a failed attempt's
    /// changes are discarded); compensations see the data as of the last completed step.</summary>
    public TData Data { get; set; }
}

/// <summary>What happens to a step whose attempt was cut off by its timeout or by the saga's deadline: the saga stops
/// waiting for the attempt, but the attempt may still have (or later get) its effect.</summary>
public enum StepTimeoutPolicy
{
    /// <summary>The default: when the saga compensates, the cut-off step is compensated too (first, as the latest
    /// step), after its abandoned attempt finished. Its compensation may thus run for an action that never took
    /// effect: compensations must be idempotent and tolerate "nothing to undo".</summary>
    Compensate,

    /// <summary>The cut-off step is not compensated: choose it when a timed-out attempt is known to have no effect
    /// (or its effect needs no undoing).</summary>
    Abandon,
}

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

/// <summary>Entry point of the definition API.</summary>
public static class SagaDefinition
{
    /// <summary>
    /// Defines a saga: a named list of steps sharing typed data, run in order; when a step fails for good, the
    /// completed steps are compensated in reverse order. Register it on every node with
    /// <c>SagaOrchestrator.Get(system).Register(definition)</c> or <c>WithSagas(o =&gt; o.Add(definition))</c>.
    /// </summary>
    /// <param name="name">Unique saga name (recorded in the journal: keep it stable).</param>
    /// <param name="build">Adds the steps.</param>
    public static SagaDefinition<TData> Define<TData>(string name, Action<SagaBuilder<TData>> build) where TData : class
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200 || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new ArgumentException($"Saga name '{name}' is invalid: use 1-200 characters without spaces or control characters (such as NUL).", nameof(name));
        ArgumentNullException.ThrowIfNull(build);
        var builder = new SagaBuilder<TData>();
        build(builder);
        if (builder.Steps.Count == 0) throw new ArgumentException($"Saga '{name}' has no steps.", nameof(build));
        var steps = builder.Steps.Select(s => new SagaStep<TData>(s.Id, s.Name, s.Action, s.Compensation,
            s.Retry ?? builder.DefaultRetryPolicy, s.CompensationRetry ?? builder.DefaultCompensationRetryPolicy,
            s.Timeout ?? builder.DefaultStepTimeout) { OnTimeout = s.OnTimeout, AllowConcurrentRetry = s.AllowConcurrentRetry }).ToArray();
        return new SagaDefinition<TData>(name, builder.DisplayName ?? name, steps, builder.SagaDeadline);
    }
}

/// <summary>The untyped view of a saga definition the orchestrator runs.</summary>
public interface ISagaDefinition
{
    /// <summary>Unique saga name.</summary>
    string Name { get; }

    /// <summary>Display name.</summary>
    string DisplayName { get; }

    /// <summary>The data type.</summary>
    Type DataType { get; }

    /// <summary>Overall deadline, counted from the start; null = none.</summary>
    TimeSpan? Deadline { get; }

    /// <summary>The step ids, in order.</summary>
    IReadOnlyList<string> StepIds { get; }

    /// <summary>True when step <paramref name="index"/> has a compensation.</summary>
    bool HasCompensation(int index);

    /// <summary>Attempts of step <paramref name="index"/>'s action, or of its compensation.</summary>
    RetryPolicy RetryOf(int index, bool compensation);

    /// <summary>What happens to step <paramref name="index"/> when an attempt of it is cut off by its timeout or the deadline.</summary>
    StepTimeoutPolicy TimeoutPolicyOf(int index);

    /// <summary>True when a retry of step <paramref name="index"/> may start beside its timed-out previous attempt.</summary>
    bool AllowsConcurrentRetry(int index);

    /// <summary>Runs one attempt of step <paramref name="index"/>'s action (or compensation) on <paramref name="data"/>,
    /// within the step's timeout, and returns the data after it.</summary>
    Task<JsonElement> RunAsync(int index, bool compensation, SagaAttemptInfo attempt, JsonElement data,
        JsonSerializerOptions json, CancellationToken cancellationToken);

    /// <summary>Starts one attempt like <see cref="RunAsync"/> and also hands back the task of the step's own code, which
    /// may still run after the outcome reported a timeout or a cancellation.</summary>
    SagaAttemptRun Start(int index, bool compensation, SagaAttemptInfo attempt, JsonElement data,
        JsonSerializerOptions json, CancellationToken cancellationToken);
}

/// <summary>A started attempt (see <see cref="ISagaDefinition.Start"/>).</summary>
/// <param name="Outcome">The data after the attempt; faults with <see cref="SagaStepTimeoutException"/> once the step's
/// timeout passed, or is cancelled with the token, whether or not the step's code has stopped.</param>
/// <param name="Work">The step's own code: completes when it really stopped (never faults).</param>
public readonly record struct SagaAttemptRun(Task<JsonElement> Outcome, Task Work);

/// <summary>Identifies one attempt handed to <see cref="ISagaDefinition.RunAsync"/>.</summary>
/// <param name="SagaId">The saga instance id.</param>
/// <param name="Attempt">The attempt number, 1-based.</param>
public readonly record struct SagaAttemptInfo(string SagaId, int Attempt);

/// <summary>Thrown by <see cref="ISagaDefinition.RunAsync"/> when an attempt exceeded the step's timeout.</summary>
public sealed class SagaStepTimeoutException(string message) : TimeoutException(message);

/// <summary>A saga definition with typed data <typeparamref name="TData"/> (made by <see cref="SagaDefinition.Define{TData}"/>).</summary>
/// <typeparam name="TData">The saga's data type.</typeparam>
public sealed class SagaDefinition<TData> : ISagaDefinition where TData : class
{
    internal SagaDefinition(string name, string displayName, IReadOnlyList<SagaStep<TData>> steps, TimeSpan? deadline)
    {
        Name = name;
        DisplayName = displayName;
        Steps = steps;
        Deadline = deadline;
        StepIds = steps.Select(s => s.Id).ToArray();
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string DisplayName { get; }

    /// <summary>The steps, in order.</summary>
    public IReadOnlyList<SagaStep<TData>> Steps { get; }

    /// <inheritdoc />
    public TimeSpan? Deadline { get; }

    /// <inheritdoc />
    public Type DataType => typeof(TData);

    /// <inheritdoc />
    public IReadOnlyList<string> StepIds { get; }

    /// <inheritdoc />
    public bool HasCompensation(int index) => Steps[index].Compensation is not null;

    /// <inheritdoc />
    public RetryPolicy RetryOf(int index, bool compensation) => compensation ? Steps[index].CompensationRetry : Steps[index].Retry;

    /// <inheritdoc />
    public StepTimeoutPolicy TimeoutPolicyOf(int index) => Steps[index].OnTimeout;

    /// <inheritdoc />
    public bool AllowsConcurrentRetry(int index) => Steps[index].AllowConcurrentRetry;

    /// <inheritdoc />
    public Task<JsonElement> RunAsync(int index, bool compensation, SagaAttemptInfo attempt, JsonElement data,
        JsonSerializerOptions json, CancellationToken cancellationToken) =>
        Start(index, compensation, attempt, data, json, cancellationToken).Outcome;

    /// <inheritdoc />
    public SagaAttemptRun Start(int index, bool compensation, SagaAttemptInfo attempt, JsonElement data,
        JsonSerializerOptions json, CancellationToken cancellationToken)
    {
        SagaStep<TData> step;
        Func<SagaContext<TData>, CancellationToken, Task> work;
        SagaContext<TData> context;
        try
        {
            step = Steps[index];
            work = compensation ? step.Compensation ?? throw new InvalidOperationException($"Step '{step.Id}' has no compensation.") : step.Action;
            var typed = data.Deserialize<TData>(json) ?? throw new JsonException($"Saga '{Name}': the data deserialized to null.");
            context = new SagaContext<TData>(attempt.SagaId, Name, step.Id, attempt.Attempt, compensation, typed);
        }
        catch (Exception e)
        {
            return new SagaAttemptRun(Task.FromException<JsonElement>(e), Task.CompletedTask);
        }
        // Cancelled when the attempt times out or when the saga cancels it (deadline, hand-off); disposed only once the
        // step's code stopped, since it may still hold the token.
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = Task.Run(() => work(context, timeout.Token), CancellationToken.None);
        var finished = run.ContinueWith(_ => timeout.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return new SagaAttemptRun(AwaitAsync(step, compensation, context, run, timeout, json, cancellationToken), finished);
    }

    private static async Task<JsonElement> AwaitAsync(SagaStep<TData> step, bool compensation, SagaContext<TData> context, Task run,
        CancellationTokenSource timeout, JsonSerializerOptions json, CancellationToken cancellationToken)
    {
        try
        {
            // WaitAsync: an action that ignores its token still counts as timed out (it keeps running unobserved); an
            // action that throws a TimeoutException of its own counts as timed out too.
            await run.WaitAsync(step.Timeout, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested
                                  && (e is TimeoutException || (e is OperationCanceledException && timeout.IsCancellationRequested)))
        {
            try { await timeout.CancelAsync(); }
            catch (ObjectDisposedException) { } // the step's code stopped meanwhile
            throw new SagaStepTimeoutException(
                $"{(compensation ? "Compensation of step" : "Step")} '{step.Id}' timed out after {step.Timeout.TotalMilliseconds:0} ms.");
        }
        return JsonSerializer.SerializeToElement(context.Data, json);
    }
}
