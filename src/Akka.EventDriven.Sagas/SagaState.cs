using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

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
