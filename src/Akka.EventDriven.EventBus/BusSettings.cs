using Akka.Configuration;

namespace Akka.EventDriven.EventBus;

/// <summary>The bus's settings, from <c>akka.event-driven.bus</c> (see its reference.conf).</summary>
public sealed record BusSettings
{
    /// <summary>Largest serialized payload (bytes).</summary>
    public int MaxMessageBytes { get; init; }
    /// <summary>How often wildcard and group routes are refreshed from the pub-sub registry.</summary>
    public TimeSpan RoutingRefreshInterval { get; init; }
    /// <summary>Fast-path subscriber buffer size.</summary>
    public int SubscriberBufferSize { get; init; }
    /// <summary>Default retries.</summary>
    public int MaxRetries { get; init; }
    /// <summary>Default first backoff.</summary>
    public TimeSpan InitialBackoff { get; init; }
    /// <summary>Default backoff cap.</summary>
    public TimeSpan MaxBackoff { get; init; }
    /// <summary>Backoff jitter fraction.</summary>
    public double Jitter { get; init; }
    /// <summary>Default dead-letter queue.</summary>
    public string DefaultDeadLetterQueue { get; init; } = "dead-letters";
    /// <summary>Default deduplication window.</summary>
    public TimeSpan DedupWindow { get; init; }
    /// <summary>Most remembered ids per subscription.</summary>
    public int DedupCapacity { get; init; }
    /// <summary>Default partitions of a durable topic.</summary>
    public int Partitions { get; init; }
    /// <summary>Journal rows per read.</summary>
    public int ReadBatch { get; init; }
    /// <summary>Unacknowledged deliveries per consumer.</summary>
    public int MaxInFlight { get; init; }
    /// <summary>Unacknowledged deliveries per queue member.</summary>
    public int QueuePrefetch { get; init; }
    /// <summary>A member silent for this long is presumed dead and its deliveries are redelivered.</summary>
    public TimeSpan VisibilityTimeout { get; init; }
    /// <summary>Default time limit of one handler attempt on durable topics and queues: <c>durable.handler-timeout</c>,
    /// always shorter than <see cref="VisibilityTimeout"/> (default <c>auto</c>: half of it, 15 s), so an attempt that
    /// hangs fails and is retried before the consumer presumes its delivery lost.</summary>
    public TimeSpan HandlerTimeout { get; init; }
    /// <summary>Durable topics: journaled messages older than this are deleted (<c>durable.retention.max-age</c>;
    /// null = off, the default), never one a subscription group has not acknowledged.</summary>
    public TimeSpan? RetentionMaxAge { get; init; }
    /// <summary>Durable topics: at most this many journaled messages are kept per partition
    /// (<c>durable.retention.max-messages</c>; null = off, the default), never deleting one a group has not acknowledged.</summary>
    public long? RetentionMaxMessages { get; init; }
    /// <summary>How often a durable topic's consumers apply the retention (<c>durable.retention.interval</c>, default 1 min).</summary>
    public TimeSpan RetentionInterval { get; init; }
    /// <summary>True when a retention limit is set.</summary>
    public bool RetentionEnabled => RetentionMaxAge is not null || RetentionMaxMessages is not null;
    /// <summary>How often offsets are stored.</summary>
    public TimeSpan CommitInterval { get; init; }
    /// <summary>Idle poll interval of consumers.</summary>
    public TimeSpan PollInterval { get; init; }
    /// <summary>Member heartbeat interval.</summary>
    public TimeSpan HeartbeatInterval { get; init; }
    /// <summary>Longest a consumer being handed off (a rebalance, a node leaving, passivation) waits for its in-flight
    /// deliveries to be acknowledged before it stores its offset and stops.</summary>
    public TimeSpan HandOffDrainTimeout { get; init; }
    /// <summary>Default request timeout.</summary>
    public TimeSpan RequestTimeout { get; init; }
    /// <summary>Requests one handler registration runs at once (per node).</summary>
    public int RequestHandlerConcurrency { get; init; } = 64;
    /// <summary>Requests that wait for a free handler slot; beyond them a request is answered "Overloaded" at once.</summary>
    public int RequestHandlerQueue { get; init; } = 1024;

    private Config? _topics;

    /// <summary>The settings of <paramref name="system"/> (its configuration over the bus's reference.conf).</summary>
    /// <exception cref="ConfigurationException">A value is invalid; the message names the key.</exception>
    public static BusSettings Create(Akka.Actor.ActorSystem system) =>
        FromConfig(system.Settings.Config.WithFallback(EventBusConfig.DefaultConfig()));

    /// <summary>Reads and validates the settings.</summary>
    /// <exception cref="ConfigurationException">A value is invalid; the message names the key.</exception>
    public static BusSettings FromConfig(Config root)
    {
        var c = root.GetConfig("akka.event-driven.bus")
                ?? throw new ConfigurationException("akka.event-driven.bus is missing (is the event bus reference.conf loaded?)");
        var s = new BusSettings
        {
            MaxMessageBytes = c.GetInt("max-message-bytes"),
            RoutingRefreshInterval = c.GetTimeSpan("routing-refresh-interval"),
            SubscriberBufferSize = c.GetInt("subscriber-buffer-size"),
            MaxRetries = c.GetInt("retry.max-retries"),
            InitialBackoff = c.GetTimeSpan("retry.initial-backoff"),
            MaxBackoff = c.GetTimeSpan("retry.max-backoff"),
            Jitter = c.GetDouble("retry.jitter"),
            DefaultDeadLetterQueue = c.GetString("default-dead-letter-queue"),
            DedupWindow = c.GetTimeSpan("dedup-window"),
            DedupCapacity = c.GetInt("dedup-capacity"),
            Partitions = c.GetInt("durable.partitions"),
            ReadBatch = c.GetInt("durable.read-batch"),
            MaxInFlight = c.GetInt("durable.max-in-flight"),
            QueuePrefetch = c.GetInt("durable.queue-prefetch"),
            VisibilityTimeout = c.GetTimeSpan("durable.visibility-timeout"),
            HandlerTimeout = string.Equals(c.GetString("durable.handler-timeout", "auto"), "auto", StringComparison.OrdinalIgnoreCase)
                ? c.GetTimeSpan("durable.visibility-timeout") / 2
                : c.GetTimeSpan("durable.handler-timeout"),
            RetentionMaxAge = Off(c, "durable.retention.max-age") ? null : c.GetTimeSpan("durable.retention.max-age"),
            RetentionMaxMessages = Off(c, "durable.retention.max-messages") ? null : c.GetLong("durable.retention.max-messages"),
            RetentionInterval = c.GetTimeSpan("durable.retention.interval", TimeSpan.FromMinutes(1)),
            CommitInterval = c.GetTimeSpan("durable.commit-interval"),
            PollInterval = c.GetTimeSpan("durable.poll-interval"),
            HeartbeatInterval = c.GetTimeSpan("durable.heartbeat-interval"),
            HandOffDrainTimeout = c.GetTimeSpan("durable.hand-off-drain-timeout", TimeSpan.FromSeconds(5)),
            RequestTimeout = c.GetTimeSpan("request-timeout"),
            RequestHandlerConcurrency = c.GetInt("request-handler.max-concurrency", 64),
            RequestHandlerQueue = c.GetInt("request-handler.max-queued", 1024),
            _topics = c.GetConfig("durable.topics"),
        };
        return s.Validate();
    }

    private static bool Off(Config c, string path) =>
        !c.HasPath(path) || string.IsNullOrWhiteSpace(c.GetString(path)) || string.Equals(c.GetString(path), "off", StringComparison.OrdinalIgnoreCase);

    private BusSettings Validate()
    {
        void Positive(string name, double value)
        {
            if (value <= 0) throw new ConfigurationException($"akka.event-driven.bus.{name} must be positive (was {value}).");
        }
        Positive("max-message-bytes", MaxMessageBytes);
        Positive("subscriber-buffer-size", SubscriberBufferSize);
        Positive("durable.partitions", Partitions);
        Positive("durable.read-batch", ReadBatch);
        Positive("durable.max-in-flight", MaxInFlight);
        Positive("durable.queue-prefetch", QueuePrefetch);
        Positive("durable.visibility-timeout", VisibilityTimeout.TotalMilliseconds);
        Positive("durable.handler-timeout", HandlerTimeout.TotalMilliseconds);
        if (HandlerTimeout >= VisibilityTimeout)
            throw new ConfigurationException($"akka.event-driven.bus.durable.handler-timeout ({HandlerTimeout}) must be shorter than " +
                                             $"durable.visibility-timeout ({VisibilityTimeout}): a handler still running at the visibility timeout has its delivery presumed lost.");
        Positive("durable.commit-interval", CommitInterval.TotalMilliseconds);
        Positive("durable.retention.interval", RetentionInterval.TotalMilliseconds);
        if (RetentionMaxAge is { } age) Positive("durable.retention.max-age", age.TotalMilliseconds);
        if (RetentionMaxMessages is { } max) Positive("durable.retention.max-messages", max);
        Positive("durable.poll-interval", PollInterval.TotalMilliseconds);
        Positive("durable.heartbeat-interval", HeartbeatInterval.TotalMilliseconds);
        Positive("durable.hand-off-drain-timeout", HandOffDrainTimeout.TotalMilliseconds);
        Positive("request-timeout", RequestTimeout.TotalMilliseconds);
        Positive("request-handler.max-concurrency", RequestHandlerConcurrency);
        if (RequestHandlerQueue < 0) throw new ConfigurationException("akka.event-driven.bus.request-handler.max-queued must be 0 or more.");
        if (MaxRetries < 0) throw new ConfigurationException("akka.event-driven.bus.retry.max-retries must be 0 or more.");
        if (Jitter is < 0 or > 1) throw new ConfigurationException("akka.event-driven.bus.retry.jitter must be between 0 and 1.");
        TopicNames.Validate(DefaultDeadLetterQueue, kind: "dead-letter queue");
        return this;
    }

    /// <summary>Partitions of durable topic <paramref name="topic"/>: <c>durable.topics."topic".partitions</c>, else the default.</summary>
    public int PartitionsOf(string topic)
    {
        if (_topics is null || _topics.IsEmpty) return Partitions;
        var value = _topics.GetInt($"\"{topic}\".partitions", 0);
        return value > 0 ? value : Partitions;
    }
}
