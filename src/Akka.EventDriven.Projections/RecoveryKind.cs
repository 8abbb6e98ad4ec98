using Akka.Actor;
using Akka.Event;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Projections;

/// <summary>What <see cref="RecoveryStrategy"/> does once retries are used up.</summary>
public enum RecoveryKind
{
    /// <summary>Stop the projection.</summary>
    Fail,
    /// <summary>Record the event in <c>projection_dead_letters</c> and go on.</summary>
    DeadLetter,
}
