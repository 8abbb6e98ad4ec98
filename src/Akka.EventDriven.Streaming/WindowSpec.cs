namespace Akka.EventDriven.Streaming;

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
