using Akka.Streams.Dsl;

namespace Akka.EventDriven.EventBus;

/// <summary>An element of <see cref="BusStreams.CommittableSubscribe{T}"/> or <see cref="BusStreams.CommittableConsume{T}"/>:
/// the message, and the commit that acknowledges it.</summary>
/// <typeparam name="T">The payload type.</typeparam>
public sealed class CommittableBusMessage<T>
{
    private readonly TaskCompletionSource _committed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal CommittableBusMessage(BusMessage<T> message) => Message = message;

    /// <summary>The message.</summary>
    public BusMessage<T> Message { get; }

    /// <summary>Acknowledges the message: call it once the stream has processed it (idempotent). Until then the message
    /// counts as in flight and is redelivered if the stream stops.</summary>
    public void Commit() => _committed.TrySetResult();

    /// <summary>True once <see cref="Commit"/> was called.</summary>
    public bool IsCommitted => _committed.Task.IsCompleted;

    internal Task Completion => _committed.Task;
}
