using Akka.Streams;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.EventBus;

/// <summary>
/// The bus as Akka.Streams stages, for pipelines: a topic (fast path or durable), or a queue, as a
/// <see cref="Source{TOut,TMat}"/>, and publishing as a <see cref="Sink{TIn,TMat}"/>.
/// </summary>
public static class BusStreams
{
    /// <summary>
    /// The messages of a subscription (<see cref="EventBus.SubscribeAsync{T}"/> with <paramref name="options"/>) as a
    /// source. Backpressure reaches the subscription: its handler waits while the stream's buffer
    /// (<paramref name="bufferSize"/>) is full, so a durable subscription stops acknowledging and its consumer stops
    /// delivering (bounded by max-in-flight), and a fast-path subscriber's own buffer applies its overflow policy. A
    /// message counts as handled once it is in the stream's buffer. The stream materializes the subscription; cancelling
    /// or completing the stream disposes it.
    /// </summary>
    public static Source<BusMessage<T>, Task<IBusSubscription>> Subscribe<T>(EventBus bus, string topic,
        SubscriptionOptions? options = null, int bufferSize = 256)
    {
        ArgumentNullException.ThrowIfNull(bus);
        return FromSubscription<T>(bufferSize, handler => bus.SubscribeAsync(topic, handler, options));
    }

    /// <summary>A queue's messages (<see cref="EventBus.ConsumeAsync{T}"/>) as a source; see <see cref="Subscribe{T}"/>.</summary>
    public static Source<BusMessage<T>, Task<IBusSubscription>> Consume<T>(EventBus bus, string queue,
        SubscriptionOptions? options = null, int bufferSize = 256)
    {
        ArgumentNullException.ThrowIfNull(bus);
        return FromSubscription<T>(bufferSize, handler => bus.ConsumeAsync(queue, handler, options));
    }

    /// <summary>Publishes every element on <paramref name="topic"/> (durably with <see cref="PublishOptions.Persistent"/>),
    /// at most <paramref name="parallelism"/> publishes at a time; completes when the last publish is acknowledged and
    /// fails with the first publish that fails.</summary>
    public static Sink<T, Task<Done>> Publish<T>(EventBus bus, string topic, PublishOptions? options = null, int parallelism = 8)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(bus);
        TopicNames.Validate(topic);
        return Sending<T>(parallelism, element => bus.PublishAsync(topic, element, options));
    }

    /// <summary>Enqueues every element on <paramref name="queue"/>; see <see cref="Publish{T}"/>.</summary>
    public static Sink<T, Task<Done>> Enqueue<T>(EventBus bus, string queue, PublishOptions? options = null, int parallelism = 8)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(bus);
        TopicNames.Validate(queue, kind: "queue");
        return Sending<T>(parallelism, element => bus.EnqueueAsync(queue, element, options));
    }

    private static Sink<T, Task<Done>> Sending<T>(int parallelism, Func<T, Task<PublishReceipt>> send)
    {
        if (parallelism < 1) throw new ArgumentOutOfRangeException(nameof(parallelism), "Parallelism must be at least 1.");
        return Flow.Create<T>().SelectAsync(parallelism, send).ToMaterialized(Sink.Ignore<PublishReceipt>(), Keep.Right);
    }

    /// <summary>A backpressured queue source whose materialization subscribes a handler that offers into it.</summary>
    private static Source<BusMessage<T>, Task<IBusSubscription>> FromSubscription<T>(int bufferSize,
        Func<Func<BusMessage<T>, CancellationToken, Task>, Task<IBusSubscription>> subscribe)
    {
        if (bufferSize < 1) throw new ArgumentOutOfRangeException(nameof(bufferSize), "The buffer needs room for at least one message.");
        return Source.Queue<BusMessage<T>>(bufferSize, OverflowStrategy.Backpressure)
            .MapMaterializedValue(queue => Attach(queue, subscribe));
    }

    private static async Task<IBusSubscription> Attach<T>(ISourceQueueWithComplete<BusMessage<T>> queue,
        Func<Func<BusMessage<T>, CancellationToken, Task>, Task<IBusSubscription>> subscribe)
    {
        IBusSubscription subscription;
        try
        {
            subscription = await subscribe(async (message, ct) =>
            {
                var result = await queue.OfferAsync(message);
                if (result is QueueOfferResult.Failure failure) throw failure.Cause;
                if (result is QueueOfferResult.QueueClosed) throw new OperationCanceledException("The stream was stopped.");
            });
        }
        catch (Exception e)
        {
            queue.Fail(e);
            throw;
        }
        _ = queue.WatchCompletionAsync().ContinueWith(_ => subscription.DisposeAsync().AsTask(), TaskScheduler.Default);
        return subscription;
    }
}
