using System.Collections.Immutable;
using System.Text.Json;

namespace Akka.EventDriven.Sagas.Internal;

/// <summary>
/// What a saga's journal says about it: a pure, immutable fold of its <see cref="ISagaEvent"/>s
/// (<see cref="Apply"/>), and the decisions taken from it (<see cref="Next"/>, <see cref="Outcome"/>,
/// <see cref="DeadlinePassed"/>), which return the events to record and never run an effect. The entity
/// (<see cref="SagaEntity"/>) keeps only what is live: the running attempt, its timers and cancellation, the waiters.
/// </summary>
internal sealed record SagaProgress
{
    /// <summary>A saga that was never started.</summary>
    public static SagaProgress None { get; } = new();

    public string? SagaName { get; init; }
    public SagaState? State { get; init; }
    public JsonElement Data { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public DateTimeOffset? DeadlineAt { get; init; }
    public string? Reason { get; init; }
    public ImmutableList<string> Completed { get; init; } = [];
    public ImmutableList<string> Compensated { get; init; } = [];
    public ImmutableList<SagaStepAttempt> History { get; init; } = [];

    /// <summary>Recorded failures of the current step (or compensation).</summary>
    public int FailedAttempts { get; init; }

    /// <summary>When the next attempt is due (from the last recorded failure).</summary>
    public DateTimeOffset? RetryAt { get; init; }

    /// <summary>An attempt of the running step timed out, so it may have had its effect.</summary>
    public bool CurrentStepTimedOut { get; init; }

    /// <summary>Compensated too, though it never completed (<see cref="SagaCompensating.TimedOutStep"/>).</summary>
    public string? TimedOutStep { get; init; }

    /// <summary>Running or compensating: effects are still to run.</summary>
    public bool IsActive => State is SagaState.Running or SagaState.Compensating;

    /// <summary>The state after <paramref name="e"/>.</summary>
    public SagaProgress Apply(ISagaEvent e) => e switch
    {
        SagaStarted s => this with
        {
            SagaName = s.SagaName, State = SagaState.Running, Data = s.Data, DeadlineAt = s.DeadlineAt, StartedAt = s.At,
        },
        SagaStepCompleted c => this with
        {
            Completed = Completed.Add(c.StepId), Data = c.Data,
            History = History.Add(new SagaStepAttempt(c.StepId, false, c.Attempt, true, null, false, c.At)),
            FailedAttempts = 0, RetryAt = null, CurrentStepTimedOut = false,
        },
        SagaStepFailed f => this with
        {
            History = History.Add(new SagaStepAttempt(f.StepId, false, f.Attempt, false, f.Error, f.TimedOut, f.At)),
            FailedAttempts = f.Attempt, RetryAt = f.RetryAt, CurrentStepTimedOut = CurrentStepTimedOut || f.TimedOut,
        },
        SagaCompensating c => this with
        {
            State = SagaState.Compensating, Reason = c.Reason, TimedOutStep = c.TimedOutStep, FailedAttempts = 0, RetryAt = null,
        },
        SagaStepCompensated c => this with
        {
            Compensated = Compensated.Add(c.StepId),
            History = History.Add(new SagaStepAttempt(c.StepId, true, c.Attempt, true, null, false, c.At)),
            FailedAttempts = 0, RetryAt = null,
        },
        SagaCompensationFailed f => this with
        {
            History = History.Add(new SagaStepAttempt(f.StepId, true, f.Attempt, false, f.Error, f.TimedOut, f.At)),
            FailedAttempts = f.Attempt, RetryAt = f.RetryAt,
        },
        SagaCompleted c => this with { State = SagaState.Completed, FinishedAt = c.At },
        SagaCompensated c => this with { State = SagaState.Compensated, FinishedAt = c.At },
        SagaFailed f => this with { State = SagaState.Failed, Reason = f.Reason, FinishedAt = f.At },
        _ => this,
    };

    /// <summary>The step that runs (or runs next) while running: the first one not completed.</summary>
    public string? NextStep(ISagaDefinition? definition) =>
        State == SagaState.Running && definition is not null && Completed.Count < definition.StepIds.Count ? definition.StepIds[Completed.Count] : null;

    /// <summary>
    /// What an active saga does next at <paramref name="now"/>: wait for a retry that is due later, give up at the
    /// passed deadline, run a step's action, run the latest compensation not yet run (the cut-off step's too, when
    /// there is one), or, with nothing left to compensate, end <see cref="SagaState.Compensated"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The journal names a step the definition does not have.</exception>
    public SagaDecision Next(ISagaDefinition definition, DateTimeOffset now)
    {
        if (RetryAt is { } due && due > now) return new SagaDecision.WaitUntil(due);
        if (State == SagaState.Running)
        {
            if (DeadlineAt is { } deadline && deadline <= now) return SagaDecision.Deadline;
            return new SagaDecision.Run(Completed.Count, Compensation: false);
        }
        IReadOnlyList<string> toCompensate = TimedOutStep is { } cut && !Completed.Contains(cut) ? [.. Completed, cut] : Completed;
        for (var i = toCompensate.Count - 1; i >= 0; i--)
        {
            var index = IndexOf(definition, toCompensate[i]);
            if (!definition.HasCompensation(index) || Compensated.Contains(toCompensate[i])) continue;
            return new SagaDecision.Run(index, Compensation: true);
        }
        return new SagaDecision.Finish([new SagaCompensated(Reason ?? "compensated", now)]);
    }

    /// <summary>
    /// The events that record an attempt's outcome: <paramref name="data"/> after a success, or
    /// <paramref name="error"/> (<paramref name="timedOut"/> when the step's timeout cut it off). A failure is retried
    /// per the step's policy; the last failed attempt of an action switches the saga to compensating (naming the step
    /// as cut off when an attempt of it timed out and its policy compensates it), the last failed compensation fails
    /// the saga. The last step's completion and the saga's completion are one write.
    /// </summary>
    public IReadOnlyList<ISagaEvent> Outcome(ISagaDefinition definition, string step, JsonElement? data, string? error, bool timedOut,
        DateTimeOffset now)
    {
        var index = IndexOf(definition, step);
        var attempt = FailedAttempts + 1;
        if (State == SagaState.Running)
        {
            if (error is null)
            {
                var completed = new SagaStepCompleted(step, attempt, data!.Value, now);
                return Completed.Count + 1 == definition.StepIds.Count ? [completed, new SagaCompleted(now)] : [completed];
            }
            var policy = definition.RetryOf(index, compensation: false);
            if (attempt < policy.MaxAttempts)
                return [new SagaStepFailed(step, attempt, error, timedOut, now + policy.BackoffAfter(attempt), now)];
            var cutOff = (CurrentStepTimedOut || timedOut) && definition.TimeoutPolicyOf(index) == StepTimeoutPolicy.Compensate;
            return
            [
                new SagaStepFailed(step, attempt, error, timedOut, null, now),
                new SagaCompensating($"Step '{step}' failed after {attempt} attempt(s): {error}", now, cutOff ? step : null),
            ];
        }

        if (error is null) return [new SagaStepCompensated(step, attempt, now)];
        var compensationPolicy = definition.RetryOf(index, compensation: true);
        if (attempt < compensationPolicy.MaxAttempts)
            return [new SagaCompensationFailed(step, attempt, error, timedOut, now + compensationPolicy.BackoffAfter(attempt), now)];
        return
        [
            new SagaCompensationFailed(step, attempt, error, timedOut, null, now),
            new SagaFailed($"Compensation of step '{step}' failed after {attempt} attempt(s): {error} (while compensating because: {Reason})", now),
        ];
    }

    /// <summary>
    /// The events that record a running saga's passed deadline. <paramref name="runningStep"/> is the step whose attempt
    /// was cut off by it (null when none ran): that attempt counts as failed and timed out. The cut-off step, or a step
    /// waiting to retry after a timed-out attempt, is compensated too when its policy says so. Empty when the saga is
    /// not running.
    /// </summary>
    public IReadOnlyList<ISagaEvent> DeadlinePassed(ISagaDefinition? definition, string? runningStep, DateTimeOffset now)
    {
        if (State != SagaState.Running) return [];
        var events = new List<ISagaEvent>(2);
        string? cutOff = null;
        if (runningStep is not null)
        {
            cutOff = runningStep;
            events.Add(new SagaStepFailed(runningStep, FailedAttempts + 1, "The saga's deadline passed during the attempt.", true, null, now));
        }
        else if (CurrentStepTimedOut && NextStep(definition) is { } waiting)
            cutOff = waiting;
        if (cutOff is not null && (definition is null || definition.TimeoutPolicyOf(IndexOf(definition, cutOff)) != StepTimeoutPolicy.Compensate))
            cutOff = null;
        events.Add(new SagaCompensating($"The saga's deadline ({DeadlineAt:O}) passed.", now, cutOff));
        return events;
    }

    /// <summary>The position of <paramref name="stepId"/> in <paramref name="definition"/>.</summary>
    /// <exception cref="InvalidOperationException">The definition has no such step.</exception>
    public static int IndexOf(ISagaDefinition definition, string stepId)
    {
        for (var i = 0; i < definition.StepIds.Count; i++)
            if (definition.StepIds[i] == stepId) return i;
        throw new InvalidOperationException($"Saga '{definition.Name}' has no step '{stepId}' (was it renamed while sagas were running?).");
    }
}

/// <summary>What an active saga does next (<see cref="SagaProgress.Next"/>).</summary>
internal abstract record SagaDecision
{
    private SagaDecision() { }

    /// <summary>The deadline passed: record <see cref="SagaProgress.DeadlinePassed"/>.</summary>
    public static SagaDecision Deadline { get; } = new DeadlineReached();

    /// <summary>A retry is due at <paramref name="Due"/>.</summary>
    public sealed record WaitUntil(DateTimeOffset Due) : SagaDecision;

    /// <summary>Run an attempt of step <paramref name="Index"/>'s action, or of its compensation.</summary>
    public sealed record Run(int Index, bool Compensation) : SagaDecision;

    /// <summary>Nothing is left to run: record <paramref name="Events"/> (once no abandoned attempt still runs).</summary>
    public sealed record Finish(IReadOnlyList<ISagaEvent> Events) : SagaDecision;

    /// <summary>See <see cref="Deadline"/>.</summary>
    public sealed record DeadlineReached : SagaDecision;
}
