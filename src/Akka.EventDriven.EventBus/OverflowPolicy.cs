namespace Akka.EventDriven.EventBus;

/// <summary>What a fast-path subscriber does when its bounded buffer is full (a slow handler never makes memory grow
/// without bound). Every dropped message is counted in <see cref="BusMetricsSnapshot.MessagesDropped"/> and logged.</summary>
public enum OverflowPolicy
{
    /// <summary>Drop the message that just arrived (default).</summary>
    DropNewest,

    /// <summary>Drop the oldest buffered message to make room.</summary>
    DropOldest,
}
