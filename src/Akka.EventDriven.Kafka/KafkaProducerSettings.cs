using Akka.Actor;
using Akka.Configuration.Hocon;
using Confluent.Kafka;
using Config = Akka.Configuration.Config;

namespace Akka.EventDriven.Kafka;

/// <summary>Settings of the producer stages. Build from HOCON with <see cref="Create(ActorSystem,ISerializer{TKey}?,ISerializer{TValue}?)"/>.</summary>
/// <typeparam name="TKey">The message key type.</typeparam>
/// <typeparam name="TValue">The message value type.</typeparam>
public sealed record KafkaProducerSettings<TKey, TValue>
{
    /// <summary>The librdkafka properties (bootstrap.servers, linger.ms, acks, transactional.id, anything else).</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    /// <summary>The key serializer; null = Confluent's default for <typeparamref name="TKey"/>.</summary>
    public ISerializer<TKey>? KeySerializer { get; init; }

    /// <summary>The value serializer; null = Confluent's default for <typeparamref name="TValue"/>.</summary>
    public ISerializer<TValue>? ValueSerializer { get; init; }

    /// <summary>Messages sent but not yet acknowledged before the stage backpressures. Default 10,000.</summary>
    public int MaxInFlight { get; init; } = 10_000;

    /// <summary>How long a stopping stage waits for outstanding deliveries. Default 10 s.</summary>
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Settings from <c>akka.event-driven.kafka</c> in <paramref name="config"/> (null = the defaults).</summary>
    public static KafkaProducerSettings<TKey, TValue> Create(Config? config, ISerializer<TKey>? keySerializer = null,
        ISerializer<TValue>? valueSerializer = null)
    {
        var section = KafkaConfig.Section(config);
        var producer = section.GetConfig("producer");
        var properties = KafkaConfig.Properties(section, "properties");
        foreach (var (k, v) in KafkaConfig.Properties(producer, "properties")) properties[k] = v;
        if (KafkaConfig.BootstrapServers(section) is { } servers) properties["bootstrap.servers"] = servers;
        return new KafkaProducerSettings<TKey, TValue>
        {
            Properties = properties,
            KeySerializer = keySerializer,
            ValueSerializer = valueSerializer,
            MaxInFlight = producer.GetInt("max-in-flight", 10_000),
            FlushTimeout = producer.GetTimeSpan("flush-timeout", TimeSpan.FromSeconds(10)),
        };
    }

    /// <summary>Settings from the actor system's configuration.</summary>
    public static KafkaProducerSettings<TKey, TValue> Create(ActorSystem system, ISerializer<TKey>? keySerializer = null,
        ISerializer<TValue>? valueSerializer = null) => Create(system.Settings.Config, keySerializer, valueSerializer);

    /// <summary>A copy with one librdkafka property set.</summary>
    public KafkaProducerSettings<TKey, TValue> WithProperty(string key, string value) =>
        this with { Properties = new Dictionary<string, string>(Properties) { [key] = value } };

    /// <summary>A copy with <c>bootstrap.servers</c> set.</summary>
    public KafkaProducerSettings<TKey, TValue> WithBootstrapServers(string servers) => WithProperty("bootstrap.servers", servers);

    internal IProducer<TKey, TValue> Build()
    {
        var builder = new ProducerBuilder<TKey, TValue>(new ProducerConfig(new Dictionary<string, string>(Properties)));
        if (KeySerializer is not null) builder.SetKeySerializer(KeySerializer);
        if (ValueSerializer is not null) builder.SetValueSerializer(ValueSerializer);
        builder.SetLogHandler((_, _) => { });
        return builder.Build();
    }
}
