using Akka.Actor;

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
