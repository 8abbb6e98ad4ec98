using Akka.Actor;
using Akka.Hosting;

namespace Akka.EventDriven.Streaming;

/// <summary>The actor system's <see cref="StreamProcessor"/> (one per system), stopped gracefully on coordinated shutdown.</summary>
public sealed class StreamingExtension : IExtension
{
    internal StreamingExtension(ExtendedActorSystem system)
    {
        Processor = new StreamProcessor(system);
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceStop, "stop-pipelines", async () =>
        {
            await Processor.DisposeAsync().ConfigureAwait(false);
            return Done.Instance;
        });
    }

    /// <summary>The system's processor.</summary>
    public StreamProcessor Processor { get; }

    /// <summary>The processor of <paramref name="system"/>.</summary>
    public static StreamProcessor Get(ActorSystem system) => system.WithExtension<StreamingExtension, StreamingExtensionProvider>().Processor;
}

/// <summary>Creates <see cref="StreamingExtension"/>.</summary>
public sealed class StreamingExtensionProvider : ExtensionIdProvider<StreamingExtension>
{
    /// <inheritdoc />
    public override StreamingExtension CreateExtension(ExtendedActorSystem system) => new(system);
}

/// <summary>Akka.Hosting wiring of stream processing.</summary>
public static class StreamingHostingExtensions
{
    /// <summary>
    /// Adds the streaming defaults and, once the actor system runs, defines the pipelines <paramref name="define"/>
    /// returns on the system's <see cref="StreamProcessor"/> (<see cref="StreamingExtension.Get"/>) and starts them.
    /// They stop gracefully in the service-stop phase of coordinated shutdown.
    /// </summary>
    public static AkkaConfigurationBuilder WithStreaming(this AkkaConfigurationBuilder builder,
        Func<ActorSystem, IEnumerable<PipelineDefinition>> define)
    {
        ArgumentNullException.ThrowIfNull(define);
        builder.AddHocon(StreamingConfig.DefaultConfig(), HoconAddMode.Append);
        builder.AddStartup(async (system, _) =>
        {
            var processor = StreamingExtension.Get(system);
            foreach (var pipeline in define(system))
            {
                processor.DefinePipeline(pipeline);
                await processor.StartAsync(pipeline.Name).ConfigureAwait(false);
            }
        });
        return builder;
    }
}
