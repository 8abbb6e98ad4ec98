using System.Text;
using Akka.Actor;

namespace Akka.EventDriven.Streaming;

/// <summary>
/// What <see cref="StreamingHostingExtensions.WithStreaming"/> wires: the pipelines to define and start on the node,
/// and the module's settings. A null setting keeps the environment file's value or, failing that, reference.conf
/// (<c>akka.event-driven.streaming</c>).
/// </summary>
public sealed class StreamingOptions
{
    internal List<Func<ActorSystem, PipelineDefinition>> Pipelines { get; } = [];

    /// <summary>How long stopping waits for a pipeline to drain (elements in flight reach the sink, windows emit what
    /// they hold) before aborting it (<c>stop-timeout</c>). Default 10 s.</summary>
    public TimeSpan? StopTimeout { get; set; }

    /// <summary>Defines and starts the pipeline <paramref name="define"/> builds once the actor system runs (it gets
    /// the system, for the bus, the journal or a materializer). Pipelines start in the order they are added.</summary>
    public StreamingOptions Add(Func<ActorSystem, PipelineDefinition> define)
    {
        Pipelines.Add(define ?? throw new ArgumentNullException(nameof(define)));
        return this;
    }

    /// <summary>Defines and starts <paramref name="pipeline"/> (one that needs nothing from the actor system).</summary>
    public StreamingOptions Add(PipelineDefinition pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        return Add(_ => pipeline);
    }

    internal string ToHocon()
    {
        var hocon = new StringBuilder("akka.event-driven.streaming {\n");
        if (StopTimeout is { } t)
        {
            if (t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(StopTimeout), t, "The stop timeout must be positive.");
            hocon.Append("  stop-timeout = ").Append(HoconText.Duration(t)).Append('\n');
        }
        return hocon.Append("}\n").ToString();
    }
}
