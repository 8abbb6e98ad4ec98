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
