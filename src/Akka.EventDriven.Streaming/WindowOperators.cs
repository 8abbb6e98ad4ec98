using Akka.Streams;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.Streaming;

/// <summary>
/// Window operators on any <see cref="Source{TOut,TMat}"/> or <see cref="Flow{TIn,TOut,TMat}"/>: keyed or global tumbling,
/// sliding and session windows over processing or event time (see <see cref="WindowOptions{T}"/>), folded by an
/// <see cref="Aggregator{TIn,TAcc,TResult}"/>. Each is one fused graph stage.
/// <para><b>Emits when</b> a window closes: processing time — the clock passes its end; event time — the watermark
/// passes its end plus the allowed lateness; and for every open window when upstream completes.</para>
/// <para><b>Backpressures when</b> downstream backpressures and a result is waiting, or the late-events output
/// backpressures and a late element is waiting.</para>
/// <para><b>Completes when</b> upstream completes and every remaining window has been emitted.</para>
/// <para><b>Cancels when</b> downstream cancels.</para>
/// </summary>
public static class WindowOperators
{
    /// <summary>The window stage as a flow (late events to <see cref="WindowOptions{T}.LateEvents"/>).</summary>
    public static Flow<T, WindowResult<TKey, TResult>, NotUsed> Window<T, TKey, TAcc, TResult>(WindowSpec spec, Func<T, TKey> key,
        Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null, Action<WindowResult<TKey, TResult>>? onClosed = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(aggregator);
        options ??= new WindowOptions<T>();
        var stage = new WindowStage<T, TKey, TAcc, TResult>(spec, key, aggregator, options, onClosed);
        var late = options.LateEvents ?? Sink.Ignore<T>().MapMaterializedValue(_ => NotUsed.Instance);
        return Flow.FromGraph(GraphDsl.Create(b =>
        {
            var window = b.Add(stage);
            var lateSink = b.Add(late);
            b.From(window.Out1).To(lateSink);
            return new FlowShape<T, WindowResult<TKey, TResult>>(window.In, window.Out0);
        }));
    }

    /// <summary>Keyed tumbling windows of <paramref name="size"/>.</summary>
    public static Source<WindowResult<TKey, TResult>, TMat> TumblingWindow<T, TMat, TKey, TAcc, TResult>(this Source<T, TMat> source,
        TimeSpan size, Func<T, TKey> key, Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null,
        Action<WindowResult<TKey, TResult>>? onClosed = null) =>
        source.Via(Window(WindowSpec.Tumbling(size), key, aggregator, options, onClosed));

    /// <summary>Global (unkeyed) tumbling windows of <paramref name="size"/>.</summary>
    public static Source<WindowResult<NotUsed, TResult>, TMat> TumblingWindow<T, TMat, TAcc, TResult>(this Source<T, TMat> source,
        TimeSpan size, Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null,
        Action<WindowResult<NotUsed, TResult>>? onClosed = null) =>
        source.Via(Window(WindowSpec.Tumbling(size), Global<T>, aggregator, options, onClosed));

    /// <summary>Keyed sliding (hopping) windows of <paramref name="size"/> every <paramref name="slide"/>.</summary>
    public static Source<WindowResult<TKey, TResult>, TMat> SlidingWindow<T, TMat, TKey, TAcc, TResult>(this Source<T, TMat> source,
        TimeSpan size, TimeSpan slide, Func<T, TKey> key, Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null,
        Action<WindowResult<TKey, TResult>>? onClosed = null) =>
        source.Via(Window(WindowSpec.Sliding(size, slide), key, aggregator, options, onClosed));

    /// <summary>Keyed session windows closing after <paramref name="gap"/> without elements for the key.</summary>
    public static Source<WindowResult<TKey, TResult>, TMat> SessionWindow<T, TMat, TKey, TAcc, TResult>(this Source<T, TMat> source,
        TimeSpan gap, Func<T, TKey> key, Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null,
        Action<WindowResult<TKey, TResult>>? onClosed = null) =>
        source.Via(Window(WindowSpec.Session(gap), key, aggregator, options, onClosed));

    /// <summary>Keyed tumbling windows of <paramref name="size"/>.</summary>
    public static Flow<TIn, WindowResult<TKey, TResult>, TMat> TumblingWindow<TIn, T, TMat, TKey, TAcc, TResult>(this Flow<TIn, T, TMat> flow,
        TimeSpan size, Func<T, TKey> key, Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null,
        Action<WindowResult<TKey, TResult>>? onClosed = null) =>
        flow.Via(Window(WindowSpec.Tumbling(size), key, aggregator, options, onClosed));

    /// <summary>Keyed sliding (hopping) windows of <paramref name="size"/> every <paramref name="slide"/>.</summary>
    public static Flow<TIn, WindowResult<TKey, TResult>, TMat> SlidingWindow<TIn, T, TMat, TKey, TAcc, TResult>(this Flow<TIn, T, TMat> flow,
        TimeSpan size, TimeSpan slide, Func<T, TKey> key, Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null,
        Action<WindowResult<TKey, TResult>>? onClosed = null) =>
        flow.Via(Window(WindowSpec.Sliding(size, slide), key, aggregator, options, onClosed));

    /// <summary>Keyed session windows closing after <paramref name="gap"/> without elements for the key.</summary>
    public static Flow<TIn, WindowResult<TKey, TResult>, TMat> SessionWindow<TIn, T, TMat, TKey, TAcc, TResult>(this Flow<TIn, T, TMat> flow,
        TimeSpan gap, Func<T, TKey> key, Aggregator<T, TAcc, TResult> aggregator, WindowOptions<T>? options = null,
        Action<WindowResult<TKey, TResult>>? onClosed = null) =>
        flow.Via(Window(WindowSpec.Session(gap), key, aggregator, options, onClosed));

    internal static NotUsed Global<T>(T _) => NotUsed.Instance;
}
