using Akka.Streams;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.Streaming;

/// <summary>The reactions of <see cref="PipelineSupervision"/>.</summary>
public enum SupervisionMode
{
    /// <summary>Stop on failure.</summary>
    Stop,

    /// <summary>Skip the failing element.</summary>
    Resume,

    /// <summary>Restart the pipeline with backoff.</summary>
    Restart,
}
