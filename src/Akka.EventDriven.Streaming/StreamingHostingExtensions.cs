using Akka.Hosting;

namespace Akka.EventDriven.Streaming;

/// <summary>Akka.Hosting wiring of stream processing.</summary>
public static class StreamingHostingExtensions
{
    /// <summary>
    /// Adds the streaming options over the module's defaults and, once the actor system runs, defines the pipelines
    /// added to <paramref name="configure"/>'s options on the system's <see cref="StreamProcessor"/>
    /// (<see cref="StreamingExtension.Get"/>) and starts them. They stop gracefully in the service-stop phase of
    /// coordinated shutdown.
    /// <code>
    /// builder.WithStreaming(s =&gt; s.Add(system =&gt; Pipeline.FromTopic&lt;Threat&gt;("analysis", MessageBus.Get(system), "raw.threats")
    ///     .Where(t =&gt; t.Severity &gt;= 7).ToTopic(MessageBus.Get(system), "analyzed.threats")));
    /// </code>
    /// </summary>
    public static AkkaConfigurationBuilder WithStreaming(this AkkaConfigurationBuilder builder, Action<StreamingOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new StreamingOptions();
        configure(options);
        builder.AddHocon(options.ToHocon(), HoconAddMode.Prepend);
        builder.AddHocon(StreamingConfig.DefaultConfig(), HoconAddMode.Append);
        builder.AddStartup(async (system, _) =>
        {
            var processor = StreamingExtension.Get(system);
            foreach (var define in options.Pipelines)
            {
                var pipeline = define(system);
                processor.DefinePipeline(pipeline);
                await processor.StartAsync(pipeline.Name).ConfigureAwait(false);
            }
        });
        return builder;
    }
}
