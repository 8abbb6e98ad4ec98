using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Supervision;
using Decider = Akka.Streams.Supervision.Decider;
using Directive = Akka.Streams.Supervision.Directive;

namespace Akka.EventDriven.Streaming;

/// <summary>The state of a pipeline in a <see cref="StreamProcessor"/>.</summary>
public enum PipelineStatus
{
    /// <summary>Defined, never started (or stopped and ready to start again).</summary>
    Defined,

    /// <summary>Running.</summary>
    Running,

    /// <summary>Failed and waiting for its restart backoff.</summary>
    Restarting,

    /// <summary>Its source completed and every element was processed.</summary>
    Completed,

    /// <summary>Stopped by <see cref="StreamProcessor.StopAsync"/>.</summary>
    Stopped,

    /// <summary>Failed and not restarted (supervision <see cref="PipelineSupervision.Stop"/>, or a source/sink failure
    /// under <see cref="PipelineSupervision.Resume"/>).</summary>
    Failed,
}
