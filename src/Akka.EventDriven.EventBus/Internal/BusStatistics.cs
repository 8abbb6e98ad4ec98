using Akka.EventDriven.EventSourcing;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>The statistics of <see cref="MessageBus"/>: queue depth and subscription lag read from the database, and
/// the per-topic and per-queue views of this node's counters.</summary>
internal sealed class BusStatistics
{
    private readonly BusMetrics _metrics;
    private readonly BusStore _store;
    private readonly TopicRouter _router;

    public BusStatistics(BusMetrics metrics, BusStore store, TopicRouter router)
    {
        _metrics = metrics;
        _store = store;
        _router = router;
    }

    public async Task<BusMetricsSnapshot> GetMetricsAsync()
    {
        foreach (var consumerId in _metrics.Depth.Keys.ToList())
        {
            var (logId, _) = BusNames.ParseConsumer(consumerId);
            var head = await _store.HeadAsync(PersistenceIds.For(BusLog.AggregateName, logId));
            var offset = await _store.LoadOffsetAsync(consumerId);
            _metrics.Depth[consumerId] = Math.Max(0, head - offset);
        }
        return _metrics.Snapshot();
    }

    public async Task<IReadOnlyList<BusDestinationStats>> GetTopicsAsync()
    {
        var snapshot = await GetMetricsAsync();
        var lag = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        foreach (var (consumerId, behind) in snapshot.QueueDepth)
        {
            var (logId, group) = BusNames.ParseConsumer(consumerId);
            if (BusNames.IsQueueLog(logId)) continue;
            var topic = logId[2..logId.LastIndexOf('#')];
            if (!lag.TryGetValue(topic, out var groups)) lag[topic] = groups = new Dictionary<string, long>(StringComparer.Ordinal);
            groups[group] = groups.GetValueOrDefault(group) + behind;
        }
        var names = new SortedSet<string>(_metrics.Topics.Keys, StringComparer.Ordinal);
        names.UnionWith(lag.Keys);
        foreach (var known in _router.KnownTopics)
        {
            var name = known.StartsWith(BusNames.GroupPrefix, StringComparison.Ordinal) ? known[BusNames.GroupPrefix.Length..] : known;
            if (!name.StartsWith('$') && !TopicNames.IsPattern(name) && names.Count < BusMetrics.MaxNames) names.Add(name);
        }
        return names.Select(name =>
        {
            _metrics.Topics.TryGetValue(name, out var c);
            var (publishedRate, deliveredRate) = c?.Rates() ?? (0, 0);
            var subscriptions = _router.LocalSubscriptions(name) + _router.LocalSubscriptions(BusNames.GroupPrefix + name);
            return new BusDestinationStats(name, c?.ReadPublished ?? 0, c?.ReadDelivered ?? 0, publishedRate, deliveredRate, subscriptions,
                null, lag.TryGetValue(name, out var groups) ? groups : new Dictionary<string, long>());
        }).ToList();
    }

    public async Task<IReadOnlyList<BusDestinationStats>> GetQueuesAsync()
    {
        var snapshot = await GetMetricsAsync();
        var depth = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (consumerId, behind) in snapshot.QueueDepth)
        {
            var (logId, _) = BusNames.ParseConsumer(consumerId);
            if (BusNames.IsQueueLog(logId)) depth[logId[2..]] = depth.GetValueOrDefault(logId[2..]) + behind;
        }
        var names = new SortedSet<string>(_metrics.Queues.Keys, StringComparer.Ordinal);
        names.UnionWith(depth.Keys);
        return names.Select(name =>
        {
            _metrics.Queues.TryGetValue(name, out var c);
            var (publishedRate, deliveredRate) = c?.Rates() ?? (0, 0);
            return new BusDestinationStats(name, c?.ReadPublished ?? 0, c?.ReadDelivered ?? 0, publishedRate, deliveredRate, 0,
                depth.TryGetValue(name, out var d) ? d : null, new Dictionary<string, long>());
        }).ToList();
    }
}
