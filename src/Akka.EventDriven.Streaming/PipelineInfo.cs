using Akka.Actor;

namespace Akka.EventDriven.Streaming;

/// <summary>One pipeline as <see cref="PipelineRegistry.Snapshot"/> sees it.</summary>
/// <param name="Name">The pipeline.</param>
/// <param name="Status">Its state.</param>
/// <param name="ElementsIn">Elements its source emitted (all runs).</param>
/// <param name="ElementsOut">Elements that reached its sink (all runs).</param>
/// <param name="Errors">Failed elements (under Resume) and failed runs.</param>
/// <param name="Restarts">Restarts after failures.</param>
/// <param name="InPerSecond">Elements in per second over the last <see cref="PipelineRegistry.RateWindow"/>
/// (or since the pipeline was defined, when that is more recent).</param>
/// <param name="OutPerSecond">Elements out per second over the same window.</param>
/// <param name="LastError">The most recent failure, if any.</param>
public sealed record PipelineInfo(string Name, PipelineStatus Status, long ElementsIn, long ElementsOut, long Errors, long Restarts,
    double InPerSecond, double OutPerSecond, string? LastError)
{
    /// <summary>The pipeline's window (of its last window operator); null when it has none.</summary>
    public WindowSpec? Window { get; init; }

    /// <summary>What the window values are measured in (<see cref="WindowOptions{T}.ValueUnit"/>); null when not said.</summary>
    public string? WindowUnit { get; init; }

    /// <summary>Its latest closed windows, oldest first, at most 60; empty when it has no window operator or none closed yet.</summary>
    public IReadOnlyList<ClosedWindow> Windows { get; init; } = [];
}
