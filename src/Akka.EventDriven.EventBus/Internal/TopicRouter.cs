using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>Routing of patterns and groups for <see cref="MessageBus"/>: the pattern and group topics known in the
/// cluster (refreshed from the pub-sub registry), this node's live subscriptions, the routes of a topic, and the
/// fast-path send of an envelope to its topic and routes.</summary>
internal sealed class TopicRouter
{
    private readonly IActorRef _mediator;
    private readonly BusSettings _settings;
    private readonly ILoggingAdapter _log;
    private readonly BusMetrics _metrics;
    private Routing _routing = new(ImmutableHashSet<string>.Empty, ImmutableHashSet<string>.Empty); // topics known in the cluster
    private readonly ConcurrentDictionary<string, int> _localTopics = new(StringComparer.Ordinal); // live local subscriptions

    /// <summary>The pattern and group topics known, with the routes computed from them (swapped as one).</summary>
    private sealed class Routing(ImmutableHashSet<string> topics, ImmutableHashSet<string> all)
    {
        /// <summary>Pattern and group topics (publishers route to them too).</summary>
        public ImmutableHashSet<string> Topics { get; } = topics;
        /// <summary>Every topic with a subscriber somewhere, as last seen in the registry (plus local ones at once).</summary>
        public ImmutableHashSet<string> All { get; } = all;
        public ConcurrentDictionary<string, string[]> Cache { get; } = new(StringComparer.Ordinal);
    }

    public TopicRouter(IActorRef mediator, BusSettings settings, ILoggingAdapter log, BusMetrics metrics)
    {
        _mediator = mediator;
        _settings = settings;
        _log = log;
        _metrics = metrics;
    }

    /// <summary>Pattern and group topics this node routes to.</summary>
    public IReadOnlySet<string> RoutedTopics => _routing.Topics;

    /// <summary>Every topic with a subscriber somewhere (as of the last refresh) and this node's subscribed topics.</summary>
    public IEnumerable<string> KnownTopics => _routing.All.Concat(_localTopics.Keys);

    /// <summary>This node's live subscriptions to <paramref name="mediatorTopic"/>.</summary>
    public int LocalSubscriptions(string mediatorTopic) => _localTopics.GetValueOrDefault(mediatorTopic);

    public void AddLocal(string mediatorTopic) => _localTopics.AddOrUpdate(mediatorTopic, 1, (_, n) => n + 1);

    public void RemoveLocal(string mediatorTopic)
    {
        if (_localTopics.AddOrUpdate(mediatorTopic, 0, (_, n) => n - 1) <= 0) _localTopics.TryRemove(KeyValuePair.Create(mediatorTopic, 0));
    }

    /// <summary>Fast-path send: to the topic and to every pattern and group topic it routes to.</summary>
    public void PublishFast(BusEnvelope envelope)
    {
        _mediator.Tell(new Publish(envelope.Topic, envelope));
        if (!_routing.Topics.IsEmpty)
            foreach (var target in RoutesOf(envelope.Topic))
                _mediator.Tell(new Publish(target, envelope, sendOneMessageToEachGroup: target.StartsWith(BusNames.GroupPrefix, StringComparison.Ordinal)));
        _metrics.Published(envelope.Topic, queue: false);
    }

    public bool MayHaveSubscribers(string topic)
    {
        var routing = _routing;
        return routing.All.Contains(topic) || (!routing.Topics.IsEmpty && RoutesOf(topic).Length > 0);
    }

    private string[] RoutesOf(string topic)
    {
        var routing = _routing; // one consistent snapshot: the cache always belongs to the set it was computed from
        if (routing.Cache.TryGetValue(topic, out var cached)) return cached;
        var targets = Compute(routing.Topics, topic);
        if (routing.Cache.Count < 10_000) routing.Cache.TryAdd(topic, targets); // bounded: rare topics are computed each time
        return targets;
    }

    private static string[] Compute(ImmutableHashSet<string> routedTopics, string t)
    {
        var targets = new List<string>();
        foreach (var routed in routedTopics)
        {
            var isGroup = routed.StartsWith(BusNames.GroupPrefix, StringComparison.Ordinal);
            var pattern = isGroup ? routed[BusNames.GroupPrefix.Length..] : routed;
            if (isGroup ? pattern == t || (TopicNames.IsPattern(pattern) && TopicNames.Matches(pattern, t))
                        : TopicNames.IsPattern(pattern) && TopicNames.Matches(pattern, t))
                targets.Add(routed);
        }
        return targets.ToArray();
    }

    public void AddRoute(string mediatorTopic)
    {
        while (true)
        {
            var current = _routing;
            var isRouted = mediatorTopic.StartsWith(BusNames.GroupPrefix, StringComparison.Ordinal) || TopicNames.IsPattern(mediatorTopic);
            if (current.All.Contains(mediatorTopic) && (!isRouted || current.Topics.Contains(mediatorTopic))) return;
            var next = new Routing(isRouted ? current.Topics.Add(mediatorTopic) : current.Topics, current.All.Add(mediatorTopic));
            if (Interlocked.CompareExchange(ref _routing, next, current) == current) return;
        }
    }

    public async Task RefreshRoutesAsync()
    {
        try
        {
            var registry = await _mediator.Ask<CurrentTopics>(GetTopics.Instance, _settings.RoutingRefreshInterval + TimeSpan.FromSeconds(1));
            // The mediator reports topic names URL-encoded (as they appear in its actor paths).
            // This node's live subscriptions always count (one made while the registry was being read may be missing).
            var all = registry.Topics.Where(t => !string.IsNullOrEmpty(t)).Select(Uri.UnescapeDataString)
                .Concat(_localTopics.Keys).ToImmutableHashSet();
            var routed = all
                .Where(t => t.StartsWith(BusNames.GroupPrefix, StringComparison.Ordinal) || (!t.StartsWith('$') && TopicNames.IsPattern(t)))
                .ToImmutableHashSet();
            while (true)
            {
                var current = _routing;
                // The local mediator lists this node's own subscriptions at once, and other nodes' after gossip.
                var next = routed;
                if (next.SetEquals(current.Topics) && all.SetEquals(current.All)) break;
                if (Interlocked.CompareExchange(ref _routing, new Routing(next, all), current) == current) break;
            }
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            // the system is stopping, or the mediator is busy: next tick
        }
        catch (Exception e)
        {
            _log.Warning("Event bus: could not refresh pattern and group routes: {0}", e);
        }
    }
}
