using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Cluster.Tools.PublishSubscribe.Internal;
using Akka.Event;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>Routing of patterns and groups for <see cref="MessageBus"/>: the pattern and group topics known in the
/// cluster (refreshed from the pub-sub registry), this node's live subscriptions, the routes of a topic, and the
/// fast-path send of an envelope to its topic and routes.</summary>
internal sealed class TopicRouter
{
    private readonly IActorRef _mediator;
    private readonly Task _terminated;
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

    public TopicRouter(IActorRef mediator, BusSettings settings, ILoggingAdapter log, BusMetrics metrics, Task terminated)
    {
        _mediator = mediator;
        _terminated = terminated;
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

    // Fast-path backpressure. A fast-path publish is a Tell to the node's mediator, whose mailbox is unbounded:
    // publishers that outrun it (tight loops, a starved dispatcher) would grow it, and the process, without bound. So
    // every ProbeEvery-th publish also sends the mediator a numbered CountSubscribers probe, which it answers after the
    // publishes ahead of it. Answers come in mailbox order, so the highest number answered retires every earlier probe;
    // a probe that times out is not counted as answered (the mediator is still behind) but sent again. While more than
    // WaitBeyond probes are unanswered (the mediator is more than about 8k publishes behind), PublishAsync waits for the
    // next answer (one interval: a caller that waited once then publishes, so a flood of Publish calls cannot starve
    // it); Publish, with no task to wait on, drops while more than DropBeyond are (about 128k publishes).
    private const int ProbeEvery = 512;
    /// <summary>Unanswered probes beyond which <c>PublishAsync</c> waits (about 8k publishes).</summary>
    public const int WaitBeyond = 16;
    /// <summary>Unanswered probes beyond which <c>Publish</c> (no task to wait on) drops (about 128k publishes).</summary>
    public const int DropBeyond = 256;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);
    private long _fastPublishes;
    private long _probeSent;     // the number of the last probe sent
    private long _probeAnswered; // the highest number answered
    // Completed (and replaced) at each answer. Continuations run on the thread pool, never inline on the actor thread
    // that delivers the answer.
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private bool Behind(int beyond) => Volatile.Read(ref _probeSent) - Volatile.Read(ref _probeAnswered) > beyond;

    /// <summary>Null if the publish may be sent now (almost always): the mediator is at most <paramref name="beyond"/>
    /// probe intervals behind this node's fast-path publishes; the publish is then counted. Otherwise a task that
    /// completes at the mediator's next answer; the publish is not counted (<see cref="Admit"/> it after waiting, or
    /// drop it).</summary>
    public Task? Backlog(string topic, int beyond)
    {
        if (Behind(beyond))
        {
            var next = Volatile.Read(ref _progress).Task;
            // Checked again after reading the task: an answer between the first check and the read may have been the
            // last one outstanding, and then no later answer would complete the task read.
            if (Behind(beyond)) return next;
        }
        Admit(topic);
        return null;
    }

    /// <summary>Counts a fast-path publish about to be sent (sending a probe every <see cref="ProbeEvery"/>).</summary>
    public void Admit(string topic)
    {
        if (Interlocked.Increment(ref _fastPublishes) % ProbeEvery == 0) SendProbe(topic);
    }

    private void SendProbe(string topic)
    {
        var number = Interlocked.Increment(ref _probeSent);
        Task<object> answer;
        try { answer = _mediator.Ask<object>(new CountSubscribers(topic), ProbeTimeout); }
        catch (Exception) { Answered(number); return; } // the actor system is gone: nothing to wait for
        answer.ContinueWith(static (t, state) =>
        {
            var (router, number, topic) = ((TopicRouter, long, string))state!;
            if (t.IsCompletedSuccessfully) router.Answered(number);
            else if (router._terminated.IsCompleted) router.Answered(Volatile.Read(ref router._probeSent));
            else router.SendProbe(topic); // timed out: still behind (or stuck), so ask again rather than count it caught up
        }, (this, number, topic), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void Answered(long number)
    {
        for (var seen = Volatile.Read(ref _probeAnswered); seen < number; seen = Volatile.Read(ref _probeAnswered))
            if (Interlocked.CompareExchange(ref _probeAnswered, number, seen) == seen) break;
        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))
            .TrySetResult();
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
