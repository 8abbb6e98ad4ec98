using Akka.EventDriven.EventBus;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.Streaming;

/// <summary>A named pipeline that still needs its source.</summary>
public sealed class PipelineStart
{
    internal PipelineStart(string name) => Name = name;

    /// <summary>The pipeline's name.</summary>
    public string Name { get; }

    /// <summary>Reads from <paramref name="source"/>: any Akka.Streams source — a Kafka topic
    /// (<c>KafkaConsumer.PlainSource</c>), the event journal by tag (<see cref="EventSource.ByTag"/>), a bus topic, or
    /// a test source. The source is materialized anew on every (re)start.</summary>
    public PipelineBuilder<T> From<T, TMat>(Source<T, TMat> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new PipelineBuilder<T>(Name, source.MapMaterializedValue(_ => NotUsed.Instance), new PipelineCounters(Name), headless: true);
    }

    /// <summary>
    /// Reads the payloads of the messages on the bus topic <paramref name="topic"/> (or a pattern such as
    /// <c>intel.*</c>), subscribed with
    /// <paramref name="options"/> (fast path by default; <c>Durable = true</c> and a <c>Group</c> for a durable group
    /// that resumes from its stored offset). It is <see cref="BusStreams.Subscribe{T}"/> underneath: the subscription's
    /// handler waits while the stream's buffer (<paramref name="bufferSize"/>) is full, so the pipeline's backpressure
    /// reaches the bus. Each (re)start of the pipeline subscribes anew; stopping it disposes the subscription.
    /// <para><b>At-most-once</b>, even on a durable topic: a message counts as delivered once it is in the stream's
    /// buffer, so a crash loses what was buffered and not yet passed on. For at-least-once, start from
    /// <c>From(BusStreams.CommittableSubscribe&lt;T&gt;(...))</c> and commit each element once it is handled.</para>
    /// </summary>
    /// <exception cref="ArgumentException">The topic name breaks the bus's name rules.</exception>
    public PipelineBuilder<T> FromTopic<T>(MessageBus bus, string topic, SubscriptionOptions? options = null, int bufferSize = 256)
    {
        ArgumentNullException.ThrowIfNull(bus);
        TopicNames.Validate(topic, allowWildcards: true);
        if (bufferSize < 1) throw new ArgumentOutOfRangeException(nameof(bufferSize), "The buffer holds at least one message.");
        return From(BusStreams.Subscribe<T>(bus, topic, options, bufferSize).Select(static m => m.Payload));
    }
}
