using System.Text.Json;

namespace Akka.EventDriven.Sagas;

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
