namespace Akka.EventDriven.EventBus;

/// <summary>A live subscription; dispose it to unsubscribe (in-flight durable deliveries are redelivered elsewhere).</summary>
public interface IBusSubscription : IAsyncDisposable
{
    /// <summary>The topic, pattern, queue or subject subscribed to.</summary>
    string Topic { get; }

    /// <summary>The group, if any.</summary>
    string? Group { get; }
}
