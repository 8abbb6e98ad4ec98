namespace Akka.EventDriven.Streaming;

/// <summary>
/// The clock a window stage reads for processing time and idle detection. Production code uses
/// <see cref="SystemStreamClock"/>; tests use <c>VirtualClock</c> from Akka.EventDriven.TestKit, which moves only when told to and
/// ticks the stages that read it, so window tests are deterministic and take no wall-clock time.
/// </summary>
public interface IStreamClock
{
    /// <summary>The current time on this clock.</summary>
    DateTimeOffset UtcNow { get; }

    /// <summary>
    /// Subscribes a stage to this clock's advances. A clock that advances by itself returns null, and the stage then
    /// ticks from its own timer (the materializer's scheduler); a manual clock returns a subscription and calls
    /// <paramref name="onAdvance"/> (thread-safe: a stage passes an async callback) every time it moves.
    /// </summary>
    IDisposable? Subscribe(Action<DateTimeOffset> onAdvance);
}
