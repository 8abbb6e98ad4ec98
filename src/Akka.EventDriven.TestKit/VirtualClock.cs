using Akka.EventDriven.Streaming;

namespace Akka.EventDriven.TestKit;

/// <summary>
/// A manual <see cref="IStreamClock"/> for tests: time moves only through <see cref="Advance"/> /
/// <see cref="AdvanceTo"/>, and every advance ticks the window stages that read this clock (processing-time window
/// closes, idle-source watermark advances), so window tests are deterministic and instant.
/// </summary>
/// <example><code>
/// var clock = new VirtualClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
/// var options = new WindowOptions&lt;Reading&gt; { Clock = clock };
/// // ... materialize a pipeline with options, then:
/// await clock.WaitForSubscribersAsync(1);
/// clock.Advance(TimeSpan.FromMinutes(1));   // the minute's window closes and is emitted
/// </code></example>
public sealed class VirtualClock : IStreamClock
{
    private readonly object _gate = new();
    private readonly List<Action<DateTimeOffset>> _subscribers = new();
    private DateTimeOffset _now;

    /// <summary>A clock that starts at <paramref name="start"/> (default 2000-01-01T00:00:00Z).</summary>
    public VirtualClock(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <inheritdoc />
    public DateTimeOffset UtcNow
    {
        get { lock (_gate) return _now; }
    }

    /// <summary>How many stages currently read this clock.</summary>
    public int Subscribers
    {
        get { lock (_gate) return _subscribers.Count; }
    }

    /// <inheritdoc />
    public IDisposable? Subscribe(Action<DateTimeOffset> onAdvance)
    {
        lock (_gate) _subscribers.Add(onAdvance);
        return new Subscription(this, onAdvance);
    }

    /// <summary>Moves the clock forward by <paramref name="by"/> and ticks every subscribed stage.</summary>
    public void Advance(TimeSpan by)
    {
        if (by < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(by), "A clock does not go backwards.");
        AdvanceTo(UtcNow + by);
    }

    /// <summary>Moves the clock to <paramref name="time"/> (not backwards) and ticks every subscribed stage.</summary>
    public void AdvanceTo(DateTimeOffset time)
    {
        Action<DateTimeOffset>[] subscribers;
        lock (_gate)
        {
            if (time < _now) throw new ArgumentOutOfRangeException(nameof(time), "A clock does not go backwards.");
            _now = time;
            subscribers = _subscribers.ToArray();
        }
        foreach (var s in subscribers) s(time);
    }

    /// <summary>Completes once at least <paramref name="count"/> stages read this clock (they subscribe when they
    /// start), so a test does not advance the clock before the stage under test can see it.</summary>
    public async Task WaitForSubscribersAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (Subscribers < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Expected {count} stage(s) on the virtual clock, saw {Subscribers}.");
            await Task.Delay(5);
        }
    }

    private sealed class Subscription(VirtualClock clock, Action<DateTimeOffset> callback) : IDisposable
    {
        public void Dispose()
        {
            lock (clock._gate) clock._subscribers.Remove(callback);
        }
    }
}
