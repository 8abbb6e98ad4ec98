namespace Akka.EventDriven.EventBus;

/// <summary>Where a dead-lettered message came from (and where a replay sends it back to).</summary>
public enum DeadLetterSource
{
    /// <summary>A fast-path topic subscription.</summary>
    Topic,
    /// <summary>A durable topic subscription.</summary>
    Durable,
    /// <summary>A queue.</summary>
    Queue,
}
