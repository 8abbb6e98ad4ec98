using Akka.Actor;
using Akka.Configuration;

namespace Akka.EventDriven.Streaming;

/// <summary>The embedded <c>reference.conf</c> of this module (<c>akka.event-driven.streaming</c>).</summary>
public static class StreamingConfig
{
    private static readonly Lazy<Config> Default =
        new(() => ConfigurationFactory.ParseString(EmbeddedReferenceConfig.Read(typeof(StreamingConfig))));

    /// <summary>The module's defaults under <c>akka.event-driven.streaming</c>.</summary>
    public static Config DefaultConfig() => Default.Value;

    internal static TimeSpan StopTimeout(ActorSystem system) =>
        system.Settings.Config.WithFallback(DefaultConfig()).GetTimeSpan("akka.event-driven.streaming.stop-timeout", TimeSpan.FromSeconds(10));
}
