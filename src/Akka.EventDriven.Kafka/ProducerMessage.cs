using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>A message to produce, with a value passed through to the result (say, the committable offset of the
/// message it was made from).</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <typeparam name="TPassThrough">The pass-through type.</typeparam>
/// <param name="Topic">The target topic.</param>
/// <param name="Message">The message (key, value, headers, timestamp).</param>
/// <param name="PassThrough">Handed back in the result.</param>
/// <param name="Partition">A specific partition, or null for the partitioner's choice.</param>
public sealed record ProducerMessage<TKey, TValue, TPassThrough>(string Topic, Message<TKey, TValue> Message, TPassThrough PassThrough,
    int? Partition = null) : IProducerMessage<TKey, TValue>;
