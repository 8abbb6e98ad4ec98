using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>A saga lifecycle event, published after it was journaled.</summary>
/// <param name="SagaId">The instance id.</param>
/// <param name="SagaName">The definition's name.</param>
/// <param name="SequenceNr">The event's sequence number in the saga's journal.</param>
/// <param name="State">The saga's state after the event.</param>
/// <param name="Event">The journaled event (<see cref="SagaStarted"/>, <see cref="SagaStepCompleted"/>, …).</param>
public sealed record SagaLifecycleEvent(string SagaId, string SagaName, long SequenceNr, SagaState State, ISagaEvent Event);
