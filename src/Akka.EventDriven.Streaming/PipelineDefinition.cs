using Akka.Streams;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.Streaming;

/// <summary>A complete, named pipeline: what <see cref="StreamProcessor.DefinePipeline"/> takes.</summary>
public sealed class PipelineDefinition
{
    internal PipelineDefinition(string name, PipelineCounters counters, Func<IRunnableGraph<Task>> graph,
        PipelineSupervision? supervision = null)
    {
        Name = name;
        Counters = counters;
        Graph = graph;
        Supervision = supervision ?? PipelineSupervision.Stop;
    }

    /// <summary>The pipeline's name.</summary>
    public string Name { get; }

    /// <summary>How the pipeline reacts to failures (default <see cref="PipelineSupervision.Stop"/>).</summary>
    public PipelineSupervision Supervision { get; }

    internal PipelineCounters Counters { get; }

    internal Func<IRunnableGraph<Task>> Graph { get; }

    /// <summary>A copy with the given supervision.</summary>
    public PipelineDefinition WithSupervision(PipelineSupervision supervision) =>
        new(Name, Counters, Graph, supervision ?? throw new ArgumentNullException(nameof(supervision)));
}
