using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Akka.EventDriven.EventBus;

/// <summary>The guide's <c>getMetrics()</c>: counters of this node since it started, plus the depth of durable topics
/// and queues this node consumes.</summary>
/// <param name="MessagesPublished">Messages published from this node (fast path and durable).</param>
/// <param name="MessagesDelivered">Messages handled successfully by subscriptions on this node.</param>
/// <param name="ActiveSubscriptions">Live subscriptions on this node (topics, durable topics, queues, request handlers).</param>
/// <param name="MessagesDeadLettered">Messages sent to a dead-letter queue by subscriptions on this node.</param>
/// <param name="Retries">Handler retries on this node.</param>
/// <param name="MessagesDropped">Fast-path messages dropped by a full subscriber buffer.</param>
/// <param name="DuplicatesSkipped">Redelivered message ids skipped by deduplication.</param>
/// <param name="QueueDepth">Per durable consumer on this node (<c>queue</c> or <c>topic#partition/group</c>): messages
/// journaled but not yet acknowledged, as of the last refresh.</param>
public sealed record BusMetricsSnapshot(
    long MessagesPublished,
    long MessagesDelivered,
    int ActiveSubscriptions,
    long MessagesDeadLettered,
    long Retries,
    long MessagesDropped,
    long DuplicatesSkipped,
    IReadOnlyDictionary<string, long> QueueDepth)
{
    /// <summary>Durable deliveries the consumers on this node sent again because they were presumed lost (a member
    /// left, died, went silent, or did not acknowledge within the visibility timeout).</summary>
    public long Redeliveries { get; init; }

    /// <summary>Dead letters that could not be stored for a reason retrying cannot fix (the database refused the row);
    /// each is logged as an error with the message id.</summary>
    public long DeadLetterFailures { get; init; }

    /// <summary>Total lag of the durable subscriptions and queues on this node.</summary>
    public long SubscriptionLag => QueueDepth.Values.Sum();
}

/// <summary>Counters behind <see cref="BusMetricsSnapshot"/>, also exported as System.Diagnostics.Metrics instruments
/// of meter <c>Akka.EventDriven.EventBus</c> (so OpenTelemetry can export them).</summary>
internal sealed class BusMetrics : IDisposable
{
    public const string MeterName = "Akka.EventDriven.EventBus";

    private readonly Meter _meter;
    private long _published, _delivered, _deadLettered, _retries, _dropped, _duplicates, _redelivered, _deadLetterFailures;
    private int _subscriptions;
    public readonly ConcurrentDictionary<string, long> Depth = new();

    public BusMetrics(string systemName)
    {
        _meter = new Meter(MeterName);
        var tags = new KeyValuePair<string, object?>("actor_system", systemName);
        _meter.CreateObservableCounter("eventbus.messages.published", () => new Measurement<long>(Volatile.Read(ref _published), tags));
        _meter.CreateObservableCounter("eventbus.messages.delivered", () => new Measurement<long>(Volatile.Read(ref _delivered), tags));
        _meter.CreateObservableCounter("eventbus.messages.dead_lettered", () => new Measurement<long>(Volatile.Read(ref _deadLettered), tags));
        _meter.CreateObservableCounter("eventbus.retries", () => new Measurement<long>(Volatile.Read(ref _retries), tags));
        _meter.CreateObservableCounter("eventbus.messages.dropped", () => new Measurement<long>(Volatile.Read(ref _dropped), tags));
        _meter.CreateObservableCounter("eventbus.messages.redelivered", () => new Measurement<long>(Volatile.Read(ref _redelivered), tags));
        _meter.CreateObservableCounter("eventbus.dead_letters.failed", () => new Measurement<long>(Volatile.Read(ref _deadLetterFailures), tags));
        _meter.CreateObservableUpDownCounter("eventbus.subscriptions.active", () => new Measurement<int>(Volatile.Read(ref _subscriptions), tags));
        _meter.CreateObservableGauge("eventbus.queue.depth", () => Depth.Select(d =>
            new Measurement<long>(d.Value, tags, new KeyValuePair<string, object?>("consumer", d.Key))));
    }

    public void Published() => Interlocked.Increment(ref _published);
    public void Delivered() => Interlocked.Increment(ref _delivered);
    public void DeadLettered() => Interlocked.Increment(ref _deadLettered);
    public void Retried() => Interlocked.Increment(ref _retries);
    public void Dropped() => Interlocked.Increment(ref _dropped);
    public void Duplicate() => Interlocked.Increment(ref _duplicates);
    public void Redelivered(int count) => Interlocked.Add(ref _redelivered, count);
    public void DeadLetterFailed() => Interlocked.Increment(ref _deadLetterFailures);
    public void SubscriptionStarted() => Interlocked.Increment(ref _subscriptions);
    public void SubscriptionStopped() => Interlocked.Decrement(ref _subscriptions);

    public BusMetricsSnapshot Snapshot() => new(
        Volatile.Read(ref _published), Volatile.Read(ref _delivered), Volatile.Read(ref _subscriptions),
        Volatile.Read(ref _deadLettered), Volatile.Read(ref _retries), Volatile.Read(ref _dropped), Volatile.Read(ref _duplicates),
        new Dictionary<string, long>(Depth))
    {
        Redeliveries = Volatile.Read(ref _redelivered),
        DeadLetterFailures = Volatile.Read(ref _deadLetterFailures),
    };

    public void Dispose() => _meter.Dispose();
}
