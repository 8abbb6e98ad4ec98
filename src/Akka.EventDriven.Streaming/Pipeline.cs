using Akka.EventDriven.EventBus;
using Akka.Streams;
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

/// <summary>
/// A pipeline under construction: each operator returns a new builder (builders are immutable and may be reused).
/// Operators have the semantics of the Akka.Streams operators of the same name; each doc names them.
/// </summary>
/// <typeparam name="T">The element type at this point of the pipeline.</typeparam>
public sealed class PipelineBuilder<T>
{
    private readonly Source<T, NotUsed> _source;
    // True until the pipeline's head stage (counting, stop switch) is added: a leading Where or Select becomes the head.
    private readonly bool _headless;

    internal PipelineBuilder(string name, Source<T, NotUsed> source, PipelineCounters counters, bool headless = false)
    {
        Name = name;
        _headless = headless;
        _source = source;
        Counters = counters;
    }

    /// <summary>The pipeline so far, with its head stage.</summary>
    private Source<T, NotUsed> Headed => _headless ? _source.Via(new PipelineHead<T, T>(Counters)) : _source;

    /// <summary>The pipeline's name.</summary>
    public string Name { get; }

    internal PipelineCounters Counters { get; }

    private PipelineBuilder<TOut> Next<TOut>(Source<TOut, NotUsed> source) => new(Name, source, Counters);

    /// <summary>Keeps the elements that satisfy <paramref name="predicate"/> (Akka.Streams <c>Where</c>).
    /// Emits when the predicate holds; backpressures when downstream backpressures; completes when upstream completes.</summary>
    public PipelineBuilder<T> Where(Func<T, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return Next(_headless ? _source.Via(new PipelineHead<T, T>(Counters, filter: predicate)) : _source.Where(x => predicate(x)));
    }

    /// <summary>Transforms each element (Akka.Streams <c>Select</c>). Emits when the function returns; backpressures
    /// when downstream backpressures; completes when upstream completes.</summary>
    public PipelineBuilder<TOut> Select<TOut>(Func<T, TOut> selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        return Next(_headless ? _source.Via(new PipelineHead<T, TOut>(Counters, map: selector)) : _source.Select(selector));
    }

    /// <summary>Transforms each element asynchronously, at most <paramref name="parallelism"/> at a time, keeping the
    /// input order (Akka.Streams <c>SelectAsync</c>). Emits when the next task in order completes; backpressures when
    /// <paramref name="parallelism"/> tasks are running or downstream backpressures; completes when upstream
    /// completes and every task has completed.</summary>
    public PipelineBuilder<TOut> SelectAsync<TOut>(int parallelism, Func<T, Task<TOut>> selector) =>
        Next(Headed.SelectAsync(parallelism, selector));

    /// <summary>Transforms each element into zero or more (Akka.Streams <c>SelectMany</c>). Emits when an output is
    /// available; backpressures when downstream backpressures; completes when upstream completes and the last
    /// element's outputs are emitted.</summary>
    public PipelineBuilder<TOut> SelectMany<TOut>(Func<T, IEnumerable<TOut>> selector) => Next(Headed.SelectMany(selector));

    /// <summary>Runs <paramref name="perKey"/> on a substream per key (at most <paramref name="maxSubstreams"/> keys,
    /// beyond which the pipeline fails) and merges the substreams' outputs (Akka.Streams <c>GroupBy</c> +
    /// <c>MergeSubstreams</c>). Elements of one key keep their order.</summary>
    public PipelineBuilder<TOut> GroupBy<TKey, TOut>(int maxSubstreams, Func<T, TKey> key, Flow<T, TOut, NotUsed> perKey) where TKey : notnull
    {
        var grouped = (SubFlow<T, NotUsed, IRunnableGraph<NotUsed>>)Headed.GroupBy(maxSubstreams, x => (object)key(x));
        var merged = (Source<TOut, NotUsed>)((SubFlow<TOut, NotUsed, IRunnableGraph<NotUsed>>)grouped.Via(perKey)).MergeSubstreams();
        return Next(merged);
    }

    /// <summary>Limits the rate to <paramref name="elements"/> per <paramref name="per"/> with bursts up to
    /// <paramref name="maximumBurst"/>, backpressuring upstream (Akka.Streams <c>Throttle</c>, shaping mode).</summary>
    public PipelineBuilder<T> Throttle(int elements, TimeSpan per, int maximumBurst = 1) =>
        Next(Headed.Throttle(elements, per, maximumBurst, ThrottleMode.Shaping));

    /// <summary>Groups elements into lists of up to <paramref name="size"/>, emitting a shorter list when
    /// <paramref name="within"/> passes (Akka.Streams <c>GroupedWithin</c>). Emits when the list is full or the time
    /// passes; backpressures when downstream backpressures and a list is full.</summary>
    public PipelineBuilder<IReadOnlyList<T>> Batch(int size, TimeSpan within) =>
        Next(Headed.GroupedWithin(size, within).Select(static g => (IReadOnlyList<T>)(g as IReadOnlyList<T> ?? g.ToList())));

    /// <summary>Passes the elements through any flow (an adapter, a custom stage).</summary>
    public PipelineBuilder<TOut> Via<TOut, TMat>(IGraph<FlowShape<T, TOut>, TMat> flow) => Next(Headed.Via(flow));

    /// <summary>Keyed tumbling windows (see <see cref="WindowOperators"/>).</summary>
    public PipelineBuilder<WindowResult<TKey, TResult>> TumblingWindow<TKey, TAcc, TResult>(TimeSpan size, Func<T, TKey> key,
        Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null, Action<WindowResult<TKey, TResult>>? onClosed = null) =>
        Window(WindowSpec.Tumbling(size), key, aggregator, options, onClosed);

    /// <summary>Global tumbling windows (see <see cref="WindowOperators"/>).</summary>
    public PipelineBuilder<WindowResult<NotUsed, TResult>> TumblingWindow<TAcc, TResult>(TimeSpan size,
        Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null, Action<WindowResult<NotUsed, TResult>>? onClosed = null) =>
        Window(WindowSpec.Tumbling(size), WindowOperators.Global, aggregator, options, onClosed);

    /// <summary>Keyed sliding (hopping) windows (see <see cref="WindowOperators"/>).</summary>
    public PipelineBuilder<WindowResult<TKey, TResult>> SlidingWindow<TKey, TAcc, TResult>(TimeSpan size, TimeSpan slide, Func<T, TKey> key,
        Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null, Action<WindowResult<TKey, TResult>>? onClosed = null) =>
        Window(WindowSpec.Sliding(size, slide), key, aggregator, options, onClosed);

    /// <summary>Keyed session windows (see <see cref="WindowOperators"/>).</summary>
    public PipelineBuilder<WindowResult<TKey, TResult>> SessionWindow<TKey, TAcc, TResult>(TimeSpan gap, Func<T, TKey> key,
        Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null, Action<WindowResult<TKey, TResult>>? onClosed = null) =>
        Window(WindowSpec.Session(gap), key, aggregator, options, onClosed);

    /// <summary>Any window spec, keyed by <paramref name="key"/>. The pipeline's latest closed windows (of its last
    /// window operator) are listed by <see cref="PipelineRegistry"/>, so operators see them (<c>GET /api/pipelines</c>,
    /// the console's bar chart).</summary>
    public PipelineBuilder<WindowResult<TKey, TResult>> Window<TKey, TAcc, TResult>(WindowSpec spec, Func<T, TKey> key,
        Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null, Action<WindowResult<TKey, TResult>>? onClosed = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var log = Counters.Windows;
        var number = log.Describe(spec, options?.ValueUnit);
        return Next(Headed.Via(WindowOperators.Window(spec, key, aggregator, options, r =>
        {
            log.Add(number, ClosedWindow.From(r));
            onClosed?.Invoke(r);
        })));
    }

    /// <summary>The pipeline so far as a plain source (to test it with probes or compose it further).</summary>
    public Source<T, NotUsed> AsSource() => Headed;

    /// <summary>Ends the pipeline in <paramref name="sink"/> (a Kafka topic, a bus topic, a projection, any sink).</summary>
    public PipelineDefinition To<TMat>(Sink<T, TMat> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var counters = Counters;
        var source = Headed.Select(x =>
        {
            counters.Out++;
            return x;
        });
        return new PipelineDefinition(Name, Counters, () => source.WatchTermination((_, done) => (Task)done).To(sink));
    }

    /// <summary>
    /// Ends the pipeline by publishing every element on the bus topic <paramref name="topic"/> (journaled first when
    /// <paramref name="options"/> says <c>Persistent</c>), at most <paramref name="parallelism"/> publishes at a time
    /// (overlapping publishes may land out of order; 1 keeps the pipeline's order). The pipeline waits for each
    /// publish's receipt, so a slow or failing bus backpressures it; a failed publish fails the pipeline (its supervision
    /// decides what then). Elements must not be null, and their types must be registered with the bus's type registry
    /// (<c>[EventType]</c>), like anything published.
    /// </summary>
    /// <exception cref="ArgumentException">The topic name breaks the bus's name rules.</exception>
    public PipelineDefinition ToTopic(MessageBus bus, string topic, PublishOptions? options = null, int parallelism = 8)
    {
        ArgumentNullException.ThrowIfNull(bus);
        TopicNames.Validate(topic);
        if (parallelism < 1) throw new ArgumentOutOfRangeException(nameof(parallelism), "Parallelism must be at least 1.");
        var name = Name;
        return To(Flow.Create<T>()
            .Select(x => (object?)x ?? throw new ArgumentException($"Pipeline '{name}' emitted null; a bus message needs a payload."))
            .ToMaterialized(BusStreams.Publish<object>(bus, topic, options, parallelism), Keep.Right));
    }

    /// <summary>Ends the pipeline in a callback run for each element, one at a time, on the stream's thread.</summary>
    public PipelineDefinition ForEach(Action<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var counters = Counters;
        var sink = Sink.ForEach<T>(x =>
        {
            action(x);
            counters.Out++;
        });
        return new PipelineDefinition(Name, Counters, () => Headed.ToMaterialized(sink, (_, done) => (Task)done));
    }

    /// <summary>Ends the pipeline in an asynchronous callback, at most <paramref name="parallelism"/> at a time.</summary>
    public PipelineDefinition ForEachAsync(int parallelism, Func<T, Task> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var counters = Counters;
        var source = Headed.SelectAsync(parallelism, async x =>
        {
            await action(x).ConfigureAwait(false);
            return NotUsed.Instance;
        });
        return new PipelineDefinition(Name, Counters, () => source.ToMaterialized(Sink.ForEach<NotUsed>(_ => counters.Out++), (_, done) => (Task)done));
    }
}

/// <summary>How a pipeline reacts to a failure (a throwing operator function, a failing source or sink).</summary>
public sealed record PipelineSupervision
{
    private PipelineSupervision(SupervisionMode mode, TimeSpan minBackoff, TimeSpan maxBackoff)
    {
        Mode = mode;
        MinBackoff = minBackoff;
        MaxBackoff = maxBackoff;
    }

    /// <summary>Which reaction.</summary>
    public SupervisionMode Mode { get; }

    /// <summary>Restart only: the first delay before restarting.</summary>
    public TimeSpan MinBackoff { get; }

    /// <summary>Restart only: the longest delay (delays double up to it; reset after a run longer than it).</summary>
    public TimeSpan MaxBackoff { get; }

    /// <summary>Stop the pipeline on the first failure (the default); its status becomes <see cref="PipelineStatus.Failed"/>.</summary>
    public static PipelineSupervision Stop { get; } = new(SupervisionMode.Stop, TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>Drop the element whose processing threw and go on (counted in the error metric). Failures of the source
    /// or sink themselves still stop the pipeline. A dropped element is not processed: an acknowledging sink such as
    /// the Kafka committer holds its partition's commit back at it (it is consumed again after a restart); to skip
    /// it for good, catch the failure in the operator, dead-letter the element and pass its committable on.</summary>
    public static PipelineSupervision Resume { get; } = new(SupervisionMode.Resume, TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>Restart the whole pipeline (a new source materialization: a Kafka source resumes from its committed
    /// offsets) after a delay from <paramref name="minBackoff"/> doubling up to <paramref name="maxBackoff"/>.</summary>
    public static PipelineSupervision RestartWithBackoff(TimeSpan minBackoff, TimeSpan maxBackoff)
    {
        if (minBackoff < TimeSpan.Zero || maxBackoff < minBackoff) throw new ArgumentOutOfRangeException(nameof(maxBackoff));
        return new(SupervisionMode.Restart, minBackoff, maxBackoff);
    }
}

/// <summary>The reactions of <see cref="PipelineSupervision"/>.</summary>
public enum SupervisionMode
{
    /// <summary>Stop on failure.</summary>
    Stop,

    /// <summary>Skip the failing element.</summary>
    Resume,

    /// <summary>Restart the pipeline with backoff.</summary>
    Restart,
}

/// <summary>A complete, named pipeline: what <see cref="StreamProcessor.DefinePipeline"/> takes.</summary>
public sealed class PipelineDefinition
{
    internal PipelineDefinition(string name, PipelineCounters counters, Func<IRunnableGraph<Task>> graph,
        PipelineSupervision? supervision = null)
    {
        Name = name;
        Counters = counters;
        Graph = graph;
        Supervision = supervision ?? PipelineSupervision.Stop;
    }

    /// <summary>The pipeline's name.</summary>
    public string Name { get; }

    /// <summary>How the pipeline reacts to failures (default <see cref="PipelineSupervision.Stop"/>).</summary>
    public PipelineSupervision Supervision { get; }

    internal PipelineCounters Counters { get; }

    internal Func<IRunnableGraph<Task>> Graph { get; }

    /// <summary>A copy with the given supervision.</summary>
    public PipelineDefinition WithSupervision(PipelineSupervision supervision) =>
        new(Name, Counters, Graph, supervision ?? throw new ArgumentNullException(nameof(supervision)));
}
