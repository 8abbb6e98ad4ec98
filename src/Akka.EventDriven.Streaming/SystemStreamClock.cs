namespace Akka.EventDriven.Streaming;

/// <summary>The wall clock (<see cref="DateTimeOffset.UtcNow"/>); stages tick from their own timers.</summary>
public sealed class SystemStreamClock : IStreamClock
{
    /// <summary>The one instance.</summary>
    public static readonly SystemStreamClock Instance = new();

    private SystemStreamClock() { }

    /// <inheritdoc />
    public DateTimeOffset UtcNow => DateTimeOffset.UtcNow;

    /// <inheritdoc />
    public IDisposable? Subscribe(Action<DateTimeOffset> onAdvance) => null;
}
