using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace Akka.EventDriven.Kafka;

/// <summary>A delivered message: where it was stored, and its pass-through value.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <typeparam name="TPassThrough">The pass-through type.</typeparam>
/// <param name="Report">The delivery report (topic, partition, offset, status).</param>
/// <param name="PassThrough">The value passed through from the message.</param>
public sealed record ProducerResult<TKey, TValue, TPassThrough>(DeliveryReport<TKey, TValue> Report, TPassThrough PassThrough);
