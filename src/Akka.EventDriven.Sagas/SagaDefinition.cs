using System.Text.Json;

namespace Akka.EventDriven.Sagas;

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
