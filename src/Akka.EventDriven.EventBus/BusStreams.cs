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
    /// The messages of a subscription (<see cref="MessageBus.SubscribeAsync{T}"/> with <paramref name="options"/>) as a
    /// source. Backpressure reaches the subscription: its handler waits while the stream's buffer
    /// (<paramref name="bufferSize"/>) is full, so a durable subscription stops acknowledging and its consumer stops
    /// delivering (bounded by max-in-flight), and a fast-path subscriber's own buffer applies its overflow policy.
    /// <b>At-most-once</b>, even on a durable topic: a message is acknowledged once it is in the stream's buffer, so a
    /// crash or a cancelled stream loses what was buffered but not yet processed. Use <see cref="CommittableSubscribe{T}"/>
    /// for at-least-once. The stream materializes the subscription; cancelling or completing the stream disposes it.
    /// </summary>
    public static Source<BusMessage<T>, Task<IBusSubscription>> Subscribe<T>(MessageBus bus, string topic,
        SubscriptionOptions? options = null, int bufferSize = 256)
    {
        ArgumentNullException.ThrowIfNull(bus);
        return FromSubscription<T>(bufferSize, handler => bus.SubscribeAsync(topic, handler, options));
    }

    /// <summary>A queue's messages (<see cref="MessageBus.ConsumeAsync{T}"/>) as a source; at-most-once like
    /// <see cref="Subscribe{T}"/> (see <see cref="CommittableConsume{T}"/> for at-least-once).</summary>
    public static Source<BusMessage<T>, Task<IBusSubscription>> Consume<T>(MessageBus bus, string queue,
        SubscriptionOptions? options = null, int bufferSize = 256)
    {
        ArgumentNullException.ThrowIfNull(bus);
        return FromSubscription<T>(bufferSize, handler => bus.ConsumeAsync(queue, handler, options));
    }

    /// <summary>
    /// A durable topic subscription (<paramref name="options"/>, always durable: group, retries, dead-letter queue) as an
    /// <b>at-least-once</b> source, like a Kafka committable source: each element carries <see cref="CommittableBusMessage{T}.Commit"/>,
    /// which the stream calls once it has processed the element, and only then is the message acknowledged. A message
    /// whose element is not committed when the stream stops (cancelled, failed, or the node crashed) is delivered again
    /// to the next subscriber of the group. Commits may come in any order; the stored offset advances over the
    /// committed prefix.
    /// <para>Emits when a message arrives and there is demand. Backpressures when downstream backpressures and the
    /// buffer (<paramref name="bufferSize"/>) is full; at most <c>durable.max-in-flight</c> uncommitted messages per
    /// partition are out at a time, so a stream that holds elements without committing them stops receiving.
    /// Completes never (cancel it). Cancels when downstream cancels: the subscription is disposed and its uncommitted
    /// messages are redelivered.</para>
    /// Every element must be committed (a filtered-out one too): one that is never committed holds back its partition's
    /// offset until the stream stops.
    /// </summary>
    public static Source<CommittableBusMessage<T>, Task<IBusSubscription>> CommittableSubscribe<T>(MessageBus bus, string topic,
        SubscriptionOptions? options = null, int bufferSize = 64)
    {
        ArgumentNullException.ThrowIfNull(bus);
        return FromCommittable<T>(bufferSize, options, (handler, o) => bus.SubscribeDeferredAsync(topic, handler, o, queue: false));
    }

    /// <summary>A queue's messages as an at-least-once source; see <see cref="CommittableSubscribe{T}"/>. At most
    /// <c>durable.queue-prefetch</c> uncommitted messages are out to one stream at a time.</summary>
    public static Source<CommittableBusMessage<T>, Task<IBusSubscription>> CommittableConsume<T>(MessageBus bus, string queue,
        SubscriptionOptions? options = null, int bufferSize = 16)
    {
        ArgumentNullException.ThrowIfNull(bus);
        return FromCommittable<T>(bufferSize, options, (handler, o) => bus.SubscribeDeferredAsync(queue, handler, o, queue: true));
    }

    private static Source<CommittableBusMessage<T>, Task<IBusSubscription>> FromCommittable<T>(int bufferSize, SubscriptionOptions? options,
        Func<Func<BusMessage<T>, CancellationToken, Task>, SubscriptionOptions, Task<IBusSubscription>> subscribe)
    {
        if (bufferSize < 1) throw new ArgumentOutOfRangeException(nameof(bufferSize), "The buffer needs room for at least one message.");
        // The handler only hands the element to the stream; the stream's processing time is not a handler attempt, so
        // it is not limited by the handler timeout (the offer may wait on backpressure for long).
        var effective = (options ?? new SubscriptionOptions()) with { HandlerTimeout = options?.HandlerTimeout ?? TimeSpan.FromMilliseconds(int.MaxValue) };
        return Source.Queue<CommittableBusMessage<T>>(bufferSize, OverflowStrategy.Backpressure)
            .MapMaterializedValue(queue => AttachCommittable(queue, effective, subscribe));
    }

    private static async Task<IBusSubscription> AttachCommittable<T>(ISourceQueueWithComplete<CommittableBusMessage<T>> queue, SubscriptionOptions options,
        Func<Func<BusMessage<T>, CancellationToken, Task>, SubscriptionOptions, Task<IBusSubscription>> subscribe)
    {
        IBusSubscription subscription;
        try
        {
            subscription = await subscribe(async (message, ct) =>
            {
                var element = new CommittableBusMessage<T>(message);
                // Deferred before the offer: the stream may process and commit the element before the offer's result
                // arrives (and, when that completes the stream, the result may not even say Enqueued).
                message.Deferral?.Defer(element.Completion);
                var result = await queue.OfferAsync(element);
                if (result is QueueOfferResult.Enqueued) return;
                // The stream is gone: the message is neither handled nor failed. Wait for the subscription to be
                // disposed (which the stream's end triggers) so it is redelivered rather than retried or dead-lettered.
                await Task.Delay(Timeout.Infinite, ct);
            }, options);
        }
        catch (Exception e)
        {
            queue.Fail(e);
            throw;
        }
        _ = queue.WatchCompletionAsync().ContinueWith(_ => subscription.DisposeAsync().AsTask(), TaskScheduler.Default);
        return subscription;
    }

    /// <summary>Publishes every element on <paramref name="topic"/> (durably with <see cref="PublishOptions.Persistent"/>),
    /// at most <paramref name="parallelism"/> publishes at a time; completes when the last publish is acknowledged and
    /// fails with the first publish that fails.</summary>
    public static Sink<T, Task<Done>> Publish<T>(MessageBus bus, string topic, PublishOptions? options = null, int parallelism = 8)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(bus);
        TopicNames.Validate(topic);
        return Sending<T>(parallelism, element => bus.PublishAsync(topic, element, options));
    }

    /// <summary>Enqueues every element on <paramref name="queue"/>; see <see cref="Publish{T}"/>.</summary>
    public static Sink<T, Task<Done>> Enqueue<T>(MessageBus bus, string queue, PublishOptions? options = null, int parallelism = 8)
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
