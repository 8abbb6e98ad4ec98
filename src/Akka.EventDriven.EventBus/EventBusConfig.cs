using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using Akka.EventDriven.EventBus.Internal;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.EventBus;

/// <summary>The embedded <c>reference.conf</c> of the event bus.</summary>
public static class EventBusConfig
{
    private static readonly Lazy<Config> Default =
        new(() => ConfigurationFactory.ParseString(EmbeddedReferenceConfig.Read(typeof(EventBusConfig))));

    /// <summary>The bus defaults under <c>akka.event-driven.bus</c>, plus its serializer binding.</summary>
    public static Config DefaultConfig() => Default.Value;
}
