using Akka.Streams.Dsl;

namespace Akka.EventDriven.Streaming;

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
