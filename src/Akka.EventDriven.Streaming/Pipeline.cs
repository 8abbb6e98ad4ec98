using Akka.EventDriven.EventBus;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.Streaming;

/// <summary>
/// Entry point of the pipeline DSL: a named pipeline from a
/// source, through LINQ-named operators, to a sink. The result is a <see cref="PipelineDefinition"/> that a
/// <see cref="StreamProcessor"/> starts and stops by name. Every operator maps to one plain Akka.Streams stage (plus one
/// stage after the source that counts elements and stops the pipeline gracefully), so a pipeline
/// runs as fast as the same graph written by hand.
/// </summary>
/// <example><code>
/// var pipeline = Pipeline.Create("threat-analysis")
///     .From(threats)                                   // any Source&lt;Threat, NotUsed&gt;: a Kafka topic, the journal, a bus topic
///     .Where(t => t.Severity >= 7)
///     .Select(t => new AnalyzedThreat(t, Categorize(t)))
///     .To(analyzedSink);
/// processor.DefinePipeline(pipeline);
/// await processor.StartAsync("threat-analysis");
/// </code></example>
public static class Pipeline
{
    /// <summary>Starts defining the pipeline named <paramref name="name"/> (unique within a <see cref="StreamProcessor"/>).</summary>
    public static PipelineStart Create(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A pipeline needs a name.", nameof(name));
        return new PipelineStart(name);
    }

    /// <summary>
    /// Starts the pipeline named <paramref name="name"/> on a bus topic: its elements are the payloads of
    /// <paramref name="topic"/>'s messages (see <see cref="PipelineStart.FromTopic{T}"/>). With
    /// <see cref="PipelineBuilder{T}.ToTopic"/> at the end, a topic-to-topic pipeline reads like this:
    /// <code>
    /// Pipeline.FromTopic&lt;Threat&gt;("threat-analysis", bus, "raw.threats", new SubscriptionOptions { Durable = true, Group = "analysis" })
    ///     .Where(t =&gt; t.Severity &gt;= 7)
    ///     .Select(t =&gt; new AnalyzedThreat(t.Id, Categorize(t)))
    ///     .ToTopic(bus, "analyzed.threats", new PublishOptions { Persistent = true });
    /// </code>
    /// </summary>
    public static PipelineBuilder<T> FromTopic<T>(string name, MessageBus bus, string topic, SubscriptionOptions? options = null,
        int bufferSize = 256) => Create(name).FromTopic<T>(bus, topic, options, bufferSize);
}
