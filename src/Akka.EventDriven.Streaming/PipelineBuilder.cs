using Akka.EventDriven.EventBus;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.Streaming;

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
