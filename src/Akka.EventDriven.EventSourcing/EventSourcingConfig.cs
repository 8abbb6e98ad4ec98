using Akka.Configuration;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.EventSourcing;

/// <summary>The embedded <c>reference.conf</c> of this module.</summary>
public static class EventSourcingConfig
{
    private static readonly Lazy<Config> Default = new(() =>
        ConfigurationFactory.ParseString(EmbeddedReferenceConfig.Read(typeof(EventSourcingConfig))).WithFallback(StorageConfig.DefaultConfig()));

    /// <summary>The module's defaults under <c>akka.event-driven</c>, plus its serializer bindings, falling back to the
    /// store's defaults (<see cref="StorageConfig.DefaultConfig"/>).</summary>
    public static Config DefaultConfig() => Default.Value;
}
