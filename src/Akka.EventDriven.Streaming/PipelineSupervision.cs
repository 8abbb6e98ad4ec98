using Akka.Streams;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.Streaming;

/// <summary>How a pipeline reacts to a failure (a throwing operator function, a failing source or sink).</summary>
public sealed record PipelineSupervision
{
    private PipelineSupervision(SupervisionMode mode, TimeSpan minBackoff, TimeSpan maxBackoff)
    {
        Mode = mode;
        MinBackoff = minBackoff;
        MaxBackoff = maxBackoff;
    }

    /// <summary>Which reaction.</summary>
    public SupervisionMode Mode { get; }

    /// <summary>Restart only: the first delay before restarting.</summary>
    public TimeSpan MinBackoff { get; }

    /// <summary>Restart only: the longest delay (delays double up to it; reset after a run longer than it).</summary>
    public TimeSpan MaxBackoff { get; }

    /// <summary>Stop the pipeline on the first failure (the default); its status becomes <see cref="PipelineStatus.Failed"/>.</summary>
    public static PipelineSupervision Stop { get; } = new(SupervisionMode.Stop, TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>Drop the element whose processing threw and go on (counted in the error metric). Failures of the source
    /// or sink themselves still stop the pipeline. A dropped element is not processed: an acknowledging sink such as
    /// the Kafka committer holds its partition's commit back at it (it is consumed again after a restart); to skip
    /// it for good, catch the failure in the operator, dead-letter the element and pass its committable on.</summary>
    public static PipelineSupervision Resume { get; } = new(SupervisionMode.Resume, TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>Restart the whole pipeline (a new source materialization: a Kafka source resumes from its committed
    /// offsets) after a delay from <paramref name="minBackoff"/> doubling up to <paramref name="maxBackoff"/>.</summary>
    public static PipelineSupervision RestartWithBackoff(TimeSpan minBackoff, TimeSpan maxBackoff)
    {
        if (minBackoff < TimeSpan.Zero || maxBackoff < minBackoff) throw new ArgumentOutOfRangeException(nameof(maxBackoff));
        return new(SupervisionMode.Restart, minBackoff, maxBackoff);
    }
}
