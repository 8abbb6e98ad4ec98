using Akka.Configuration;

namespace Akka.EventDriven.Storage;

/// <summary>The embedded <c>reference.conf</c> of the store: the defaults under
/// <c>akka.event-driven.persistence</c> (provider, connection string, batching, pool sizes, warm-up).</summary>
public static class StorageConfig
{
    private static readonly Lazy<Config> Default =
        new(() => ConfigurationFactory.ParseString(EmbeddedReferenceConfig.Read(typeof(StorageConfig))));

    /// <summary>The store's defaults under <c>akka.event-driven.persistence</c>.</summary>
    public static Config DefaultConfig() => Default.Value;
}
