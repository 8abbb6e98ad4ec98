using System.Text.Json;
using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>An event of a saga instance's journal (persistence id <c>saga:{sagaId}</c>, tagged <c>saga</c> and
/// <c>saga:{sagaName}</c>). Stored under stable names <c>saga.*.v1</c> (see <see cref="SagaTypes"/>).</summary>
public interface ISagaEvent
{
    /// <summary>When it happened.</summary>
    DateTimeOffset At { get; }
}

/// <summary>The saga started with <paramref name="Data"/>.</summary>
/// <param name="SagaName">The definition's name.</param>
/// <param name="Data">The input, as JSON.</param>
/// <param name="DeadlineAt">The overall deadline; null = none.</param>
/// <param name="CorrelationId">The caller's correlation id, if any.</param>
/// <param name="At">When.</param>
public sealed record SagaStarted(string SagaName, JsonElement Data, DateTimeOffset? DeadlineAt, string? CorrelationId, DateTimeOffset At) : ISagaEvent;

/// <summary>A step's action completed; <paramref name="Data"/> is the saga's data after it.</summary>
/// <param name="StepId">The step.</param>
/// <param name="Attempt">The attempt that succeeded.</param>
/// <param name="Data">The data after the step.</param>
/// <param name="At">When.</param>
public sealed record SagaStepCompleted(string StepId, int Attempt, JsonElement Data, DateTimeOffset At) : ISagaEvent;

/// <summary>An attempt of a step's action failed (or timed out). <paramref name="RetryAt"/> null: the step failed for good.</summary>
/// <param name="StepId">The step.</param>
/// <param name="Attempt">The attempt that failed.</param>
/// <param name="Error">The error.</param>
/// <param name="TimedOut">True when the attempt exceeded the step's timeout (or the saga's deadline).</param>
/// <param name="RetryAt">When the next attempt is due; null when there is none.</param>
/// <param name="At">When.</param>
public sealed record SagaStepFailed(string StepId, int Attempt, string Error, bool TimedOut, DateTimeOffset? RetryAt, DateTimeOffset At) : ISagaEvent;

/// <summary>The saga stopped going forward and compensates its completed steps in reverse order.</summary>
/// <param name="Reason">Why (a step that failed for good, or the deadline).</param>
/// <param name="At">When.</param>
/// <param name="TimedOutStep">A step that did not complete but whose attempt was cut off by its timeout or the deadline
/// (so it may have had its effect) and whose policy is <see cref="StepTimeoutPolicy.Compensate"/>: it is compensated
/// too, first. Null: none (also in events stored before this field existed).</param>
public sealed record SagaCompensating(string Reason, DateTimeOffset At, string? TimedOutStep = null) : ISagaEvent;

/// <summary>A completed step's compensation completed.</summary>
/// <param name="StepId">The step.</param>
/// <param name="Attempt">The attempt that succeeded.</param>
/// <param name="At">When.</param>
public sealed record SagaStepCompensated(string StepId, int Attempt, DateTimeOffset At) : ISagaEvent;

/// <summary>An attempt of a compensation failed. <paramref name="RetryAt"/> null: it failed for good (the saga fails).</summary>
/// <param name="StepId">The step.</param>
/// <param name="Attempt">The attempt that failed.</param>
/// <param name="Error">The error.</param>
/// <param name="TimedOut">True when the attempt exceeded the step's timeout.</param>
/// <param name="RetryAt">When the next attempt is due; null when there is none.</param>
/// <param name="At">When.</param>
public sealed record SagaCompensationFailed(string StepId, int Attempt, string Error, bool TimedOut, DateTimeOffset? RetryAt, DateTimeOffset At) : ISagaEvent;

/// <summary>Every step completed.</summary>
/// <param name="At">When.</param>
public sealed record SagaCompleted(DateTimeOffset At) : ISagaEvent;

/// <summary>Every completed step with a compensation was compensated.</summary>
/// <param name="Reason">Why the saga was compensated.</param>
/// <param name="At">When.</param>
public sealed record SagaCompensated(string Reason, DateTimeOffset At) : ISagaEvent;

/// <summary>A compensation failed for good: the saga ends here; its history shows what was and was not undone.</summary>
/// <param name="Reason">Why.</param>
/// <param name="At">When.</param>
public sealed record SagaFailed(string Reason, DateTimeOffset At) : ISagaEvent;

/// <summary>The stable type names of the saga journal events and messages.</summary>
public static class SagaTypes
{
    /// <summary>Registers the saga events (<c>saga.started.v1</c>, …) and messages in <paramref name="registry"/>.
    /// The orchestrator does this itself; call it on nodes that only read saga events (projections).</summary>
    public static MessageTypeRegistry Register(MessageTypeRegistry registry) => registry
        .Register<SagaStarted>("saga.started")
        .Register<SagaStepCompleted>("saga.step-completed")
        .Register<SagaStepFailed>("saga.step-failed")
        .Register<SagaCompensating>("saga.compensating")
        .Register<SagaStepCompensated>("saga.step-compensated")
        .Register<SagaCompensationFailed>("saga.compensation-failed")
        .Register<SagaCompleted>("saga.completed")
        .Register<SagaCompensated>("saga.compensated")
        .Register<SagaFailed>("saga.failed")
        .Register<Internal.StartSaga>("saga.msg.start")
        .Register<Internal.SagaStartReply>("saga.msg.start-reply")
        .Register<Internal.GetSagaStatus>("saga.msg.get-status")
        .Register<Internal.AwaitSaga>("saga.msg.await")
        .Register<Internal.ResumeSaga>("saga.msg.resume")
        .Register<Internal.SagaStatusReply>("saga.msg.status");
}

/// <summary>Where a saga is.</summary>
public enum SagaState
{
    /// <summary>Running its steps.</summary>
    Running,
    /// <summary>Every step completed.</summary>
    Completed,
    /// <summary>Undoing its completed steps in reverse order.</summary>
    Compensating,
    /// <summary>Every completed step was undone.</summary>
    Compensated,
    /// <summary>A compensation failed for good; see the history.</summary>
    Failed,
}

/// <summary>One attempt of a step's action or compensation.</summary>
/// <param name="StepId">The step.</param>
/// <param name="Compensation">True for the compensation.</param>
/// <param name="Attempt">The attempt number.</param>
/// <param name="Succeeded">Its outcome.</param>
/// <param name="Error">The error of a failed attempt.</param>
/// <param name="TimedOut">True when it exceeded its timeout.</param>
/// <param name="At">When its outcome was recorded.</param>
public sealed record SagaStepAttempt(string StepId, bool Compensation, int Attempt, bool Succeeded, string? Error, bool TimedOut, DateTimeOffset At);

/// <summary>The recorded state of a saga instance.</summary>
/// <param name="SagaId">The instance id.</param>
/// <param name="SagaName">The definition's name.</param>
/// <param name="State">Where it is.</param>
/// <param name="CurrentStep">The step running or being compensated; null when finished.</param>
/// <param name="Data">The data as of the last completed step, as JSON (<see cref="SagaOrchestrator.DataOf{TData}"/> reads it).</param>
/// <param name="Reason">Why it compensated or failed.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="FinishedAt">When it finished.</param>
/// <param name="CompletedSteps">Completed steps, in order.</param>
/// <param name="CompensatedSteps">Compensated steps, in the order they were compensated.</param>
/// <param name="History">Every recorded attempt, oldest first.</param>
public sealed record SagaStatus(
    string SagaId,
    string SagaName,
    SagaState State,
    string? CurrentStep,
    JsonElement Data,
    string? Reason,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<string> CompletedSteps,
    IReadOnlyList<string> CompensatedSteps,
    IReadOnlyList<SagaStepAttempt> History)
{
    /// <summary>True for Completed, Compensated and Failed.</summary>
    public bool IsFinished => State is SagaState.Completed or SagaState.Compensated or SagaState.Failed;
}

/// <summary>A saga lifecycle event, published after it was journaled.</summary>
/// <param name="SagaId">The instance id.</param>
/// <param name="SagaName">The definition's name.</param>
/// <param name="SequenceNr">The event's sequence number in the saga's journal.</param>
/// <param name="State">The saga's state after the event.</param>
/// <param name="Event">The journaled event (<see cref="SagaStarted"/>, <see cref="SagaStepCompleted"/>, …).</param>
public sealed record SagaLifecycleEvent(string SagaId, string SagaName, long SequenceNr, SagaState State, ISagaEvent Event);

/// <summary>Publishes saga lifecycle events so other parts can react (at most once, in order per saga, after the
/// event is durable; a failing publisher is logged and never stops the saga). Default: the EventStream and the event
/// bus (<see cref="EventStreamSagaEventPublisher"/>, <see cref="BusSagaEventPublisher"/>).</summary>
public interface ISagaEventPublisher
{
    /// <summary>Publishes <paramref name="lifecycleEvent"/>.</summary>
    Task PublishAsync(SagaLifecycleEvent lifecycleEvent, CancellationToken cancellationToken);
}

/// <summary>Publishes lifecycle events on the actor system's local <c>EventStream</c>
/// (<c>system.EventStream.Subscribe(actor, typeof(SagaLifecycleEvent))</c>).</summary>
/// <param name="system">The actor system.</param>
public sealed class EventStreamSagaEventPublisher(ActorSystem system) : ISagaEventPublisher
{
    /// <inheritdoc />
    public Task PublishAsync(SagaLifecycleEvent lifecycleEvent, CancellationToken cancellationToken)
    {
        system.EventStream.Publish(lifecycleEvent);
        return Task.CompletedTask;
    }
}

/// <summary>Publishes lifecycle events through a delegate, e.g. onto the event bus:
/// <c>new DelegateSagaEventPublisher((e, ct) =&gt; bus.PublishAsync("saga-events", e, ct))</c>.</summary>
/// <param name="publish">The delegate.</param>
public sealed class DelegateSagaEventPublisher(Func<SagaLifecycleEvent, CancellationToken, Task> publish) : ISagaEventPublisher
{
    /// <inheritdoc />
    public Task PublishAsync(SagaLifecycleEvent lifecycleEvent, CancellationToken cancellationToken) => publish(lifecycleEvent, cancellationToken);
}

/// <summary>
/// Publishes lifecycle events on the event bus (fast path), on topic <c>saga.{saga name}</c> (characters a topic cannot
/// hold become '-'): the payload is the journaled event itself (<see cref="SagaStarted"/>, <see cref="SagaCompleted"/>,
/// …, registered as <c>saga.*.v1</c>), the correlation id is the saga id, and headers <c>saga-id</c>,
/// <c>saga-name</c>, <c>saga-state</c> and <c>saga-sequence-nr</c> say where it comes from. Subscribe to one saga type
/// with <c>bus.SubscribeAsync&lt;SagaCompleted&gt;("saga.entity-enrichment", …)</c> or to all with <c>"saga.*"</c>.
/// </summary>
/// <param name="system">The actor system whose bus is used.</param>
public sealed class BusSagaEventPublisher(ActorSystem system) : ISagaEventPublisher
{
    private readonly MessageBus _bus = MessageBus.Get(system);

    /// <summary>The topic of saga <paramref name="sagaName"/>'s lifecycle events.</summary>
    public static string TopicFor(string sagaName)
    {
        var segment = new string(sagaName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        return $"saga.{(segment.Length == 0 ? "-" : segment[..Math.Min(segment.Length, 190)])}";
    }

    /// <inheritdoc />
    public Task PublishAsync(SagaLifecycleEvent lifecycleEvent, CancellationToken cancellationToken)
    {
        var topic = TopicFor(lifecycleEvent.SagaName);
        if (!_bus.MayHaveSubscribers(topic)) return Task.CompletedTask; // nobody listens: skip serializing it
        _bus.Publish(topic, lifecycleEvent.Event, new EventBus.PublishOptions
        {
            CorrelationId = lifecycleEvent.SagaId,
            Headers = new Dictionary<string, string>
            {
                ["saga-id"] = lifecycleEvent.SagaId,
                ["saga-name"] = lifecycleEvent.SagaName,
                ["saga-state"] = lifecycleEvent.State.ToString(),
                ["saga-sequence-nr"] = lifecycleEvent.SequenceNr.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        });
        return Task.CompletedTask;
    }
}

/// <summary>Publishes each lifecycle event through several publishers in turn (the default: the EventStream and the bus).</summary>
/// <param name="publishers">The publishers.</param>
public sealed class CompositeSagaEventPublisher(params ISagaEventPublisher[] publishers) : ISagaEventPublisher
{
    /// <inheritdoc />
    public async Task PublishAsync(SagaLifecycleEvent lifecycleEvent, CancellationToken cancellationToken)
    {
        foreach (var p in publishers) await p.PublishAsync(lifecycleEvent, cancellationToken);
    }
}
