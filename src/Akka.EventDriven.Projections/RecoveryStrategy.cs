using Akka.Actor;
using Akka.Event;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.Projections;

/// <summary>What a projection does when its handler keeps failing on an event.</summary>
/// <param name="Kind">Fail, skip, retry then fail, or retry then dead-letter.</param>
/// <param name="Retries">Attempts before giving up (for the retry kinds).</param>
public sealed record RecoveryStrategy(RecoveryKind Kind, int Retries = 0)
{
    /// <summary>Stop the projection (status Failed) at the first failure.</summary>
    public static readonly RecoveryStrategy Fail = new(RecoveryKind.Fail);
    /// <summary>Skip the failing event (logged, and stored in <c>projection_dead_letters</c>) at once.</summary>
    public static readonly RecoveryStrategy Skip = new(RecoveryKind.DeadLetter);
    /// <summary>Retry with exponential backoff, then stop the projection.</summary>
    public static RecoveryStrategy RetryThenFail(int retries) => new(RecoveryKind.Fail, retries);
    /// <summary>Retry with exponential backoff, then skip the event into <c>projection_dead_letters</c>.</summary>
    public static RecoveryStrategy RetryThenDeadLetter(int retries) => new(RecoveryKind.DeadLetter, retries);
    /// <summary>Retry with exponential backoff for ever (the default).</summary>
    public static readonly RecoveryStrategy RetryForever = new(RecoveryKind.Fail, int.MaxValue);
}
