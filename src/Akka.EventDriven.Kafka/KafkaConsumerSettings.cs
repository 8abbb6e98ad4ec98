using Akka.Actor;
using Akka.Configuration.Hocon;
using Confluent.Kafka;
using Config = Akka.Configuration.Config;

namespace Akka.EventDriven.Kafka;

/// <summary>
/// Settings of the consumer sources: librdkafka properties plus the stage's own. Build from HOCON with
/// <see cref="Create(ActorSystem,IDeserializer{TKey}?,IDeserializer{TValue}?)"/> and adjust with the <c>With…</c> copies.
/// </summary>
/// <typeparam name="TKey">The message key type.</typeparam>
/// <typeparam name="TValue">The message value type.</typeparam>
public sealed record KafkaConsumerSettings<TKey, TValue>
{
    /// <summary>The librdkafka properties (bootstrap.servers, group.id, fetch settings, anything else).</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    /// <summary>The key deserializer; null = Confluent's default for <typeparamref name="TKey"/>.</summary>
    public IDeserializer<TKey>? KeyDeserializer { get; init; }

    /// <summary>The value deserializer; null = Confluent's default for <typeparamref name="TValue"/>.</summary>
    public IDeserializer<TValue>? ValueDeserializer { get; init; }

    /// <summary>When no message is buffered, a background poll waits up to this long. Default 100 ms.</summary>
    public TimeSpan PollTimeout { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a stopped committable source waits for the final commit before closing. Default 10 s.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The committer's default batch size (<c>commit-batch-size</c>, 1000).</summary>
    public int CommitBatchSize { get; init; } = 1000;

    /// <summary>The committer's default interval (<c>commit-interval</c>, 1 s).</summary>
    public TimeSpan CommitInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Settings from <c>akka.event-driven.kafka</c> in <paramref name="config"/> (null = the defaults).</summary>
    public static KafkaConsumerSettings<TKey, TValue> Create(Config? config, IDeserializer<TKey>? keyDeserializer = null,
        IDeserializer<TValue>? valueDeserializer = null)
    {
        var section = KafkaConfig.Section(config);
        var consumer = section.GetConfig("consumer");
        var properties = KafkaConfig.Properties(section, "properties");
        foreach (var (k, v) in KafkaConfig.Properties(consumer, "properties")) properties[k] = v;
        if (KafkaConfig.BootstrapServers(section) is { } servers) properties["bootstrap.servers"] = servers;
        if (consumer.GetString("group-id", "") is { Length: > 0 } group) properties["group.id"] = group;
        return new KafkaConsumerSettings<TKey, TValue>
        {
            Properties = properties,
            KeyDeserializer = keyDeserializer,
            ValueDeserializer = valueDeserializer,
            PollTimeout = consumer.GetTimeSpan("poll-timeout", TimeSpan.FromMilliseconds(100)),
            StopTimeout = consumer.GetTimeSpan("stop-timeout", TimeSpan.FromSeconds(10)),
            CommitBatchSize = consumer.GetInt("commit-batch-size", 1000),
            CommitInterval = consumer.GetTimeSpan("commit-interval", TimeSpan.FromSeconds(1)),
        };
    }

    /// <summary>Settings from the actor system's configuration.</summary>
    public static KafkaConsumerSettings<TKey, TValue> Create(ActorSystem system, IDeserializer<TKey>? keyDeserializer = null,
        IDeserializer<TValue>? valueDeserializer = null) => Create(system.Settings.Config, keyDeserializer, valueDeserializer);

    /// <summary>A copy with one librdkafka property set.</summary>
    public KafkaConsumerSettings<TKey, TValue> WithProperty(string key, string value) =>
        this with { Properties = new Dictionary<string, string>(Properties) { [key] = value } };

    /// <summary>A copy with <c>bootstrap.servers</c> set.</summary>
    public KafkaConsumerSettings<TKey, TValue> WithBootstrapServers(string servers) => WithProperty("bootstrap.servers", servers);

    /// <summary>A copy with <c>group.id</c> set.</summary>
    public KafkaConsumerSettings<TKey, TValue> WithGroupId(string groupId) => WithProperty("group.id", groupId);

    internal ConsumerConfig ToConfig(bool manualCommit)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(Properties));
        if (manualCommit) config.EnableAutoCommit = false;
        return config;
    }

    internal IConsumer<TKey, TValue> Build(bool manualCommit, Action<IConsumer<TKey, TValue>, List<TopicPartition>> onAssigned,
        Action<IConsumer<TKey, TValue>, List<TopicPartitionOffset>> onRevoked)
    {
        var builder = new ConsumerBuilder<TKey, TValue>(ToConfig(manualCommit));
        if (KeyDeserializer is not null) builder.SetKeyDeserializer(KeyDeserializer);
        if (ValueDeserializer is not null) builder.SetValueDeserializer(ValueDeserializer);
        builder.SetPartitionsAssignedHandler(onAssigned);
        builder.SetPartitionsRevokedHandler(onRevoked);
        builder.SetPartitionsLostHandler((c, lost) => onRevoked(c, lost));
        builder.SetLogHandler((_, _) => { });
        return builder.Build();
    }
}
