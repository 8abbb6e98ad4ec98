using Akka.Streams.Dsl;

namespace Akka.EventDriven.Streaming;

/// <summary>The shape of a window.</summary>
public enum WindowKind
{
    /// <summary>Fixed-size, non-overlapping windows aligned to the epoch.</summary>
    Tumbling,

    /// <summary>Fixed-size windows that start every slide (hopping); an element belongs to size / slide windows.</summary>
    Sliding,

    /// <summary>Per-key activity sessions that close after a gap without elements.</summary>
    Session,
}

/// <summary>What a window is: its kind and its size, slide or gap. Create with <see cref="Tumbling"/>,
/// <see cref="Sliding"/> or <see cref="Session"/>.</summary>
public sealed record WindowSpec
{
    private WindowSpec(WindowKind kind, TimeSpan size, TimeSpan slide)
    {
        if (size <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(size), "A window size or gap must be positive.");
        if (slide <= TimeSpan.Zero || slide > size) throw new ArgumentOutOfRangeException(nameof(slide), "The slide must be positive and at most the size.");
        Kind = kind;
        Size = size;
        Slide = slide;
    }

    /// <summary>The kind of window.</summary>
    public WindowKind Kind { get; }

    /// <summary>The window length (tumbling, sliding) or the inactivity gap (session).</summary>
    public TimeSpan Size { get; }

    /// <summary>How often a sliding window starts (equals <see cref="Size"/> for the other kinds).</summary>
    public TimeSpan Slide { get; }

    /// <summary>Tumbling windows of <paramref name="size"/>: [k·size, (k+1)·size).</summary>
    public static WindowSpec Tumbling(TimeSpan size) => new(WindowKind.Tumbling, size, size);

    /// <summary>Sliding (hopping) windows of <paramref name="size"/> starting every <paramref name="slide"/>.</summary>
    public static WindowSpec Sliding(TimeSpan size, TimeSpan slide) => new(WindowKind.Sliding, size, slide);

    /// <summary>Session windows: a key's session lasts while elements arrive less than <paramref name="gap"/> apart;
    /// its end is the last element's time plus the gap.</summary>
    public static WindowSpec Session(TimeSpan gap) => new(WindowKind.Session, gap, gap);
}

/// <summary>
/// How a window operator tells time. With <see cref="EventTime"/> null, windows run on processing time (the
/// <see cref="Clock"/> when an element arrives) and close as the clock passes their end. With an event-time selector,
/// the watermark is the highest event time seen minus <see cref="MaxOutOfOrderness"/>; a window closes once the
/// watermark passes its end plus <see cref="AllowedLateness"/>, and an element whose windows have all closed goes to
/// <see cref="LateEvents"/> instead of being counted.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public sealed record WindowOptions<T>
{
    /// <summary>The event time of an element; null (the default) = processing time.</summary>
    public Func<T, DateTimeOffset>? EventTime { get; init; }

    /// <summary>How far behind the newest event an older one may arrive and still be in time (bounded
    /// out-of-orderness). Default zero.</summary>
    public TimeSpan MaxOutOfOrderness { get; init; }

    /// <summary>How long after the watermark passes a window's end the window stays open. Default zero.</summary>
    public TimeSpan AllowedLateness { get; init; }

    /// <summary>Event time only: once no element arrived for this long (on <see cref="Clock"/>), the watermark advances
    /// with the clock, so the windows of an idle source still close. Null (the default) = the watermark moves only
    /// with elements.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>The clock for processing time and idle detection. Default <see cref="SystemStreamClock.Instance"/>;
    /// tests pass a <c>VirtualClock</c> (Akka.EventDriven.TestKit).</summary>
    public IStreamClock Clock { get; init; } = SystemStreamClock.Instance;

    /// <summary>How often the stage checks its clock when it needs to (processing time, idle timeout). Default 100 ms.
    /// Unused with a manual clock, which ticks the stage on every advance.</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Where elements too late for their windows go (the late-events side output; it backpressures the
    /// window like the main output). Default null: late elements are discarded (<c>Sink.Ignore</c>) — pass a sink to
    /// keep them.</summary>
    public Sink<T, NotUsed>? LateEvents { get; init; }

    /// <summary>What a window's value is measured in ("threats", "ms"), for operators' tools: the console labels the
    /// bar chart of a pipeline's closed windows with it, and <c>GET /api/pipelines</c> reports it. Default null: the
    /// value is shown without a unit.</summary>
    public string? ValueUnit { get; init; }
}

/// <summary>A closed window's result: its key, bounds [<see cref="Start"/>, <see cref="End"/>) and value.</summary>
/// <typeparam name="TKey">The window key (<see cref="NotUsed"/> for global windows).</typeparam>
/// <typeparam name="TValue">The aggregated value.</typeparam>
/// <param name="Key">The key the window belongs to.</param>
/// <param name="Start">The inclusive start of the window.</param>
/// <param name="End">The exclusive end of the window (for a session: last element time + gap).</param>
/// <param name="Value">The aggregator's result.</param>
/// <param name="Count">How many elements the window held.</param>
public sealed record WindowResult<TKey, TValue>(TKey Key, DateTimeOffset Start, DateTimeOffset End, TValue Value, long Count);

/// <summary>A closed window of a pipeline as <see cref="PipelineRegistry"/> keeps it for operators' tools: its bounds,
/// its key as text, its value as a number and how many elements it held.</summary>
/// <param name="Key">The window's key as text (<c>ToString</c>, at most 200 characters); null for global windows.</param>
/// <param name="Start">The inclusive start of the window.</param>
/// <param name="End">The exclusive end of the window.</param>
/// <param name="Value">The aggregator's result when it is a number (a count, a sum, an average; a nullable number
/// with a value); null otherwise, when tools show <see cref="Count"/> instead.</param>
/// <param name="Count">How many elements the window held.</param>
public sealed record ClosedWindow(string? Key, DateTimeOffset Start, DateTimeOffset End, double? Value, long Count)
{
    internal static ClosedWindow From<TKey, TValue>(WindowResult<TKey, TValue> r)
    {
        var key = typeof(TKey) == typeof(NotUsed) ? null : r.Key?.ToString();
        if (key is { Length: > 200 }) key = key[..200];
        double? value = (object?)r.Value switch
        {
            long l => l, int i => i, short s => s, byte b => b, ulong u => u, uint u => u,
            double d => d, float f => f, decimal m => (double)m,
            _ => null,
        };
        return new ClosedWindow(key, r.Start, r.End, value, r.Count);
    }
}

/// <summary>The latest closed windows of one pipeline's window operator (the last one defined, when it has several),
/// at most <see cref="Capacity"/>, oldest first. Written by the stream's thread, read by tools.</summary>
internal sealed class WindowLog
{
    public const int Capacity = 60;
    private readonly Queue<ClosedWindow> _windows = new();
    private int _operator;

    public WindowSpec? Spec { get; private set; }
    public string? Unit { get; private set; }

    /// <summary>Called as a window operator is added to the pipeline; returns its number, which <see cref="Add"/> checks
    /// so only the last operator's windows are kept.</summary>
    public int Describe(WindowSpec spec, string? unit)
    {
        lock (_windows)
        {
            (Spec, Unit) = (spec, unit);
            _windows.Clear();
            return ++_operator;
        }
    }

    public void Add(int @operator, ClosedWindow window)
    {
        lock (_windows)
        {
            if (@operator != _operator) return;
            _windows.Enqueue(window);
            if (_windows.Count > Capacity) _windows.Dequeue();
        }
    }

    public IReadOnlyList<ClosedWindow> Latest()
    {
        lock (_windows) return _windows.ToArray();
    }
}
