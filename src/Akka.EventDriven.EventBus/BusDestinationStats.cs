using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Akka.EventDriven.EventBus;

/// <summary>What this node's bus knows of one topic or queue (<see cref="MessageBus.GetTopicsAsync"/>,
/// <see cref="MessageBus.GetQueuesAsync"/>).</summary>
/// <param name="Name">The topic or queue name.</param>
/// <param name="Published">Messages published (or enqueued) on it from this node since it started.</param>
/// <param name="Delivered">Messages of it handled successfully by subscriptions (or consumers) on this node.</param>
/// <param name="PublishedPerSecond">Publish rate from this node over the last <see cref="MessageBus.RateWindow"/>
/// (or since the name was first seen, when that is more recent).</param>
/// <param name="DeliveredPerSecond">Delivery rate on this node over the same window.</param>
/// <param name="Subscriptions">Live fast-path subscriptions to it on this node (exact name or group); 0 for a queue.</param>
/// <param name="Depth">For a queue consumed on this node: messages journaled but not yet acknowledged; otherwise null.</param>
/// <param name="LagByGroup">For a durable topic consumed on this node: per subscription group, messages journaled but
/// not yet acknowledged (summed over partitions). Empty when none is consumed here.</param>
public sealed record BusDestinationStats(string Name, long Published, long Delivered, double PublishedPerSecond,
    double DeliveredPerSecond, int Subscriptions, long? Depth, IReadOnlyDictionary<string, long> LagByGroup);

/// <summary>Counters behind <see cref="BusMetricsSnapshot"/>, also exported as System.Diagnostics.Metrics instruments
/// of meter <c>Akka.EventDriven.EventBus</c> (so OpenTelemetry can export them).</summary>
internal sealed class BusMetrics : IDisposable
{
    public const string MeterName = "Akka.EventDriven.EventBus";

    /// <summary>Most topic (and, separately, queue) names tracked per node: names past it are counted in
    /// <c>eventbus.names.untracked</c> only, so a client inventing names cannot grow memory without bound.</summary>
    public const int MaxNames = 1000;

    /// <summary>The window over which per-name rates are computed.</summary>
    public static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(10);

    // One meter per process for every bus in it: instruments of one name from several meters of one name (several actor
    // systems in a process, as in tests or an app hosting two) collide in exporters, which then keep one at random.
    private static readonly SharedInstruments Shared = new(MeterName);
    private readonly List<IDisposable> _observed = [];
    private readonly Timer _sampler;
    public readonly ConcurrentDictionary<string, NameCounters> Topics = new(StringComparer.Ordinal);
    public readonly ConcurrentDictionary<string, NameCounters> Queues = new(StringComparer.Ordinal);
    private long _untracked;
    private long _published, _delivered, _deadLettered, _retries, _dropped, _duplicates, _redelivered, _deadLetterFailures;
    private int _subscriptions;
    public readonly ConcurrentDictionary<string, long> Depth = new();

    public BusMetrics(string systemName)
    {
        var tags = new KeyValuePair<string, object?>("actor_system", systemName);
        Observe("eventbus.messages.published", InstrumentKind.Counter, () => [new Measurement<long>(Volatile.Read(ref _published), tags)]);
        Observe("eventbus.messages.delivered", InstrumentKind.Counter, () => [new Measurement<long>(Volatile.Read(ref _delivered), tags)]);
        Observe("eventbus.messages.dead_lettered", InstrumentKind.Counter, () => [new Measurement<long>(Volatile.Read(ref _deadLettered), tags)]);
        Observe("eventbus.retries", InstrumentKind.Counter, () => [new Measurement<long>(Volatile.Read(ref _retries), tags)]);
        Observe("eventbus.messages.dropped", InstrumentKind.Counter, () => [new Measurement<long>(Volatile.Read(ref _dropped), tags)]);
        Observe("eventbus.messages.redelivered", InstrumentKind.Counter, () => [new Measurement<long>(Volatile.Read(ref _redelivered), tags)]);
        Observe("eventbus.dead_letters.failed", InstrumentKind.Counter, () => [new Measurement<long>(Volatile.Read(ref _deadLetterFailures), tags)]);
        Observe("eventbus.subscriptions.active", InstrumentKind.UpDownCounter, () => [new Measurement<long>(Volatile.Read(ref _subscriptions), tags)]);
        Observe("eventbus.queue.depth", InstrumentKind.Gauge, () => Depth.Select(d =>
            new Measurement<long>(d.Value, tags, new KeyValuePair<string, object?>("consumer", d.Key))).ToList());
        Observe("eventbus.destination.published", InstrumentKind.Counter, () => PerName(tags, c => c.ReadPublished),
            "{message}", "Messages published from this node, by topic or queue (at most MaxNames of each)");
        Observe("eventbus.destination.delivered", InstrumentKind.Counter, () => PerName(tags, c => c.ReadDelivered),
            "{message}", "Messages handled on this node, by topic or queue (at most MaxNames of each)");
        Observe("eventbus.names.untracked", InstrumentKind.Counter, () => [new Measurement<long>(Volatile.Read(ref _untracked), tags)],
            "{message}", "Messages on names past the per-node cap of tracked names");
        _sampler = new Timer(_ => Sample(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    private IEnumerable<Measurement<long>> PerName(KeyValuePair<string, object?> system, Func<NameCounters, long> read) =>
        Topics.Select(t => new Measurement<long>(read(t.Value), system, new("kind", "topic"), new("name", t.Key)))
            .Concat(Queues.Select(q => new Measurement<long>(read(q.Value), system, new("kind", "queue"), new("name", q.Key))))
            .ToList();

    /// <summary>The counters of <paramref name="name"/>, or null past <see cref="MaxNames"/>.</summary>
    private NameCounters? Of(string name, bool queue)
    {
        var names = queue ? Queues : Topics;
        if (names.TryGetValue(name, out var counters)) return counters;
        if (names.Count >= MaxNames)
        {
            Interlocked.Increment(ref _untracked);
            return null;
        }
        return names.GetOrAdd(name, _ => new NameCounters());
    }

    public void Published(string name, bool queue)
    {
        Interlocked.Increment(ref _published);
        if (Of(name, queue) is { } c) Interlocked.Increment(ref c.Published);
    }

    public void Delivered(string name, bool queue)
    {
        Interlocked.Increment(ref _delivered);
        if (Of(name, queue) is { } c) Interlocked.Increment(ref c.Delivered);
    }

    private void Sample()
    {
        var now = Environment.TickCount64;
        foreach (var c in Topics.Values) c.Sample(now);
        foreach (var c in Queues.Values) c.Sample(now);
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

    private void Observe(string name, InstrumentKind kind, Func<IEnumerable<Measurement<long>>> measure, string? unit = null, string? description = null) =>
        _observed.Add(Shared.Observe(name, kind, measure, unit, description));

    public void Dispose()
    {
        _sampler.Dispose();
        foreach (var o in _observed) o.Dispose();
    }
}

/// <summary>One name's counters, and samples of them taken every second for rates over <see cref="BusMetrics.RateWindow"/>.</summary>
internal sealed class NameCounters
{
    private const int Samples = 11; // one a second: the oldest is about RateWindow old
    public long Published, Delivered;
    private readonly long[] _at = new long[Samples], _published = new long[Samples], _delivered = new long[Samples];
    private int _next, _count;

    public NameCounters() => Sample(Environment.TickCount64); // counted from 0 at creation: rates are right from the start

    public long ReadPublished => Interlocked.Read(ref Published);
    public long ReadDelivered => Interlocked.Read(ref Delivered);

    public void Sample(long now)
    {
        lock (_at)
        {
            _at[_next] = now;
            _published[_next] = ReadPublished;
            _delivered[_next] = ReadDelivered;
            _next = (_next + 1) % Samples;
            _count = Math.Min(Samples, _count + 1);
        }
    }

    /// <summary>Published and delivered per second since the oldest sample kept.</summary>
    public (double Published, double Delivered) Rates()
    {
        long at, published, delivered;
        lock (_at)
        {
            var oldest = _count < Samples ? 0 : _next;
            (at, published, delivered) = (_at[oldest], _published[oldest], _delivered[oldest]);
        }
        var seconds = (Environment.TickCount64 - at) / 1000.0;
        seconds = Math.Max(1, seconds); // a name seen a moment ago: its counts are its first second's
        return ((ReadPublished - published) / seconds, (ReadDelivered - delivered) / seconds);
    }
}
