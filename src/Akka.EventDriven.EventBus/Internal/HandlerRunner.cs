using Akka.Event;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>Runs one subscription's handler on a message: deduplication, deserialization, the handler with a timeout,
/// retries with exponential backoff and jitter, and the dead-letter queue when it fails for good.</summary>
internal sealed class HandlerRunner<T>
{
    private readonly Func<BusMessage<T>, CancellationToken, Task> _handler;
    private readonly MessageTypeRegistry _registry;
    private readonly BusMetrics _metrics;
    private readonly BusStore _store;
    private readonly ILoggingAdapter _log;
    private readonly DedupCache? _dedup;
    private readonly DeadLetterSource _source;
    private readonly int _maxRetries;
    private readonly TimeSpan _backoff, _maxBackoff;
    private readonly double _jitter;
    private readonly TimeSpan? _timeout;
    private readonly DeliveryGuarantee _guarantee;
    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>();

    public HandlerRunner(MessageBus bus, string subscriber, DeadLetterSource source, Func<BusMessage<T>, CancellationToken, Task> handler,
        SubscriptionOptions options, TimeSpan? defaultTimeout)
    {
        var s = bus.Settings;
        _handler = handler;
        _registry = bus.Registry;
        _metrics = bus.MetricsCounters;
        _store = bus.Store;
        _log = bus.Log;
        _source = source;
        Subscriber = subscriber;
        DeadLetterQueue = options.DeadLetterQueue ?? s.DefaultDeadLetterQueue;
        TopicNames.Validate(DeadLetterQueue, kind: "dead-letter queue");
        _guarantee = options.Guarantee;
        _maxRetries = options.MaxRetries ?? s.MaxRetries;
        if (_maxRetries < 0) throw new ArgumentOutOfRangeException(nameof(options), "MaxRetries must be 0 or more.");
        _backoff = options.RetryBackoff ?? s.InitialBackoff;
        _maxBackoff = options.MaxRetryBackoff ?? s.MaxBackoff;
        if (_backoff < TimeSpan.Zero || _maxBackoff < _backoff)
            throw new ArgumentOutOfRangeException(nameof(options), "RetryBackoff must be 0 or more and at most MaxRetryBackoff.");
        _jitter = s.Jitter;
        _timeout = options.HandlerTimeout ?? defaultTimeout;
        if (_timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "HandlerTimeout must be positive.");
        if (options.DeduplicationWindow is { } window)
        {
            if (window <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "DeduplicationWindow must be positive.");
            _dedup = new DedupCache(window, s.DedupCapacity);
        }
    }

    public string Subscriber { get; }
    public string DeadLetterQueue { get; }

    /// <summary>The delay before retry <paramref name="retry"/> (1-based): backoff × 2^(retry-1), capped, ± jitter.</summary>
    public TimeSpan BackoffFor(int retry)
    {
        var ms = Math.Min(_maxBackoff.TotalMilliseconds, _backoff.TotalMilliseconds * Math.Pow(2, Math.Min(retry - 1, 30)));
        var factor = 1 + _jitter * (Random.Shared.NextDouble() * 2 - 1);
        return TimeSpan.FromMilliseconds(Math.Min(_maxBackoff.TotalMilliseconds, ms * factor));
    }

    /// <summary>Handles <paramref name="envelope"/>; true when it is finished with (handled, skipped, or dead-lettered),
    /// false when it must be delivered again (the dead-letter queue could not be written, or <paramref name="stop"/>).</summary>
    public async Task<bool> RunAsync(BusEnvelope envelope, long? sequence, int? partition, int delivery, CancellationToken stop,
        DeferredAck? deferral = null)
    {
        if (!BusTracing.Source.HasListeners()) return await RunCoreAsync(envelope, sequence, partition, delivery, stop, deferral);
        using var activity = BusTracing.StartDelivery(envelope, Subscriber);
        if (activity is not null)
        {
            if (sequence is { } seq) activity.SetTag("event_driven.sequence", seq);
            if (partition is { } p) activity.SetTag("messaging.destination.partition.id", p);
            if (delivery > 1) activity.SetTag("event_driven.delivery", delivery);
        }
        return await RunCoreAsync(envelope, sequence, partition, delivery, stop, deferral, activity);
    }

    private async Task<bool> RunCoreAsync(BusEnvelope envelope, long? sequence, int? partition, int delivery, CancellationToken stop,
        DeferredAck? deferral, System.Diagnostics.Activity? activity = null)
    {
        if (envelope.Headers is { } marks && marks.TryGetValue(UnreadableEntries.Header, out var unreadable))
            return await DeadLetterAsync(envelope, unreadable, 0, stop);
        if (_dedup is not null && _dedup.Contains(envelope.Id))
        {
            _metrics.Duplicate();
            return true;
        }

        object payload;
        try
        {
            payload = _registry.Deserialize(envelope.Data, envelope.Type);
        }
        catch (Exception e)
        {
            return await DeadLetterAsync(envelope, $"Undeserializable: {e.GetType().Name}: {e.Message}", 0, stop);
        }
        if (payload is not T typed)
        {
            // On a topic another type is simply not for this handler (each subscription gets its own copy). A queue
            // message is handed to one consumer only: skipping it would lose it, so it is dead-lettered instead.
            if (_source != DeadLetterSource.Queue) return true;
            return await DeadLetterAsync(envelope, $"Type mismatch: the consumer handles {typeof(T).Name}, the message is {payload.GetType().Name} ({envelope.Type})", 0, stop);
        }

        var attempt = 0;
        while (true)
        {
            attempt++;
            var message = new BusMessage<T>(envelope.Id, envelope.Topic, typed, envelope.PublishedAt, envelope.CorrelationId,
                envelope.Headers ?? NoHeaders, attempt, delivery, sequence, partition) { Deferral = deferral };
            Exception failure;
            try
            {
                await InvokeAsync(message, stop);
                _dedup?.Add(envelope.Id);
                _metrics.Delivered(envelope.Topic, queue: _source == DeadLetterSource.Queue);
                return true;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception e)
            {
                failure = e;
            }

            activity?.AddEvent(new System.Diagnostics.ActivityEvent("attempt failed", tags: new System.Diagnostics.ActivityTagsCollection
            {
                ["event_driven.attempt"] = attempt,
                ["exception.type"] = failure.GetType().FullName,
                ["exception.message"] = failure.Message,
            }));
            if (_guarantee == DeliveryGuarantee.AtMostOnce || attempt > _maxRetries)
            {
                activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, failure.Message);
                activity?.SetTag("event_driven.dead_lettered", true);
                return await DeadLetterAsync(envelope, $"{failure.GetType().FullName}: {failure.Message}", attempt, stop);
            }
            _metrics.Retried();
            var delay = BackoffFor(attempt);
            _log.Debug("Bus subscriber {0}: message {1} failed (attempt {2}), retrying in {3} ms: {4}",
                Subscriber, envelope.Id, attempt, (int)delay.TotalMilliseconds, failure.Message);
            try { await Task.Delay(delay, stop); }
            catch (OperationCanceledException) { return false; }
        }
    }

    private async Task InvokeAsync(BusMessage<T> message, CancellationToken stop)
    {
        if (_timeout is not { } timeout)
        {
            await _handler(message, stop);
            return;
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        cts.CancelAfter(timeout);
        var work = _handler(message, cts.Token);
        var finished = await Task.WhenAny(work, Task.Delay(Timeout.Infinite, cts.Token).ContinueWith(_ => { }, TaskScheduler.Default));
        if (finished != work)
        {
            stop.ThrowIfCancellationRequested();
            _ = work.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            throw new TimeoutException($"The handler did not finish within {timeout.TotalMilliseconds:0} ms.");
        }
        await work;
    }

    private async Task<bool> DeadLetterAsync(BusEnvelope envelope, string reason, int attempts, CancellationToken stop)
    {
        for (var i = 0; ; i++)
        {
            try
            {
                await _store.AddDeadLetterAsync(DeadLetterQueue, _source.ToString().ToLowerInvariant(), envelope, reason, attempts, Subscriber);
                _metrics.DeadLettered();
                _log.Warning("Bus subscriber {0}: message {1} ({2}) sent to dead-letter queue '{3}' after {4} attempt(s): {5}",
                    Subscriber, envelope.Id, envelope.Type, DeadLetterQueue, attempts, reason);
                return true;
            }
            catch (Exception e) when (BusStore.IsPermanent(e))
            {
                // Retrying the same row fails the same way and would stop the partition behind it for good: the message
                // is given up here, logged with what is needed to recover it by hand, and counted.
                _metrics.DeadLetterFailed();
                _log.Error(e, "Bus subscriber {0}: message {1} ({2}, topic {3}) was refused by dead-letter queue '{4}' and is dropped; {5}",
                    Subscriber, envelope.Id, envelope.Type, envelope.Topic, DeadLetterQueue,
                    $"reason: {reason}; payload (base64): {Convert.ToBase64String(envelope.Data.AsSpan(0, Math.Min(envelope.Data.Length, 16 * 1024)))}");
                return true;
            }
            catch (Exception e) when (i < 4 && !stop.IsCancellationRequested)
            {
                _log.Warning("Bus subscriber {0}: could not write message {1} to dead-letter queue '{2}' ({3}); retrying",
                    Subscriber, envelope.Id, DeadLetterQueue, e.Message);
                try { await Task.Delay(TimeSpan.FromMilliseconds(200 * (i + 1)), stop); } catch (OperationCanceledException) { return false; }
            }
            catch (Exception e)
            {
                _log.Error(e, "Bus subscriber {0}: message {1} could not be dead-lettered to '{2}'", Subscriber, envelope.Id, DeadLetterQueue);
                return false;
            }
        }
    }
}

/// <summary>Lets a handler acknowledge later than its return: a committable stream source's handler defers the
/// acknowledgement to the element's commit. The acknowledgement is attached at once, so an element committed while
/// its subscription is stopping is still acknowledged.</summary>
internal sealed class DeferredAck(Action acknowledge)
{
    /// <summary>Completes when the message is processed; null when the handler did not defer.</summary>
    public Task? Completion { get; private set; }

    /// <summary>Acknowledge when <paramref name="completion"/> completes successfully (never, if it does not: the
    /// message is then redelivered when the subscription ends).</summary>
    public void Defer(Task completion)
    {
        Completion = completion;
        completion.ContinueWith(static (t, state) =>
        {
            if (t.IsCompletedSuccessfully) ((Action)state!)();
        }, acknowledge, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}

/// <summary>Message ids handled within a time window, bounded in count (oldest forgotten first).</summary>
internal sealed class DedupCache(TimeSpan window, int capacity)
{
    private readonly Dictionary<string, long> _expires = new(StringComparer.Ordinal);
    private readonly Queue<(string Id, long Expires)> _order = new();

    public bool Contains(string id)
    {
        lock (_expires)
            return _expires.TryGetValue(id, out var until) && until > Environment.TickCount64;
    }

    public void Add(string id)
    {
        var now = Environment.TickCount64;
        var until = now + (long)window.TotalMilliseconds;
        lock (_expires)
        {
            _expires[id] = until;
            _order.Enqueue((id, until));
            while (_order.Count > 0 && (_order.Count > capacity || _order.Peek().Expires <= now))
            {
                var (old, expires) = _order.Dequeue();
                if (_expires.TryGetValue(old, out var current) && current == expires) _expires.Remove(old);
            }
        }
    }
}
