using Akka.Configuration;

namespace Akka.EventDriven.Storage;

/// <summary>The embedded <c>reference.conf</c> of the store: the defaults under
/// <c>akka.event-driven.persistence</c> (provider, connection string, batching, pool sizes, warm-up).</summary>
public static class StorageConfig
{
    private static readonly Lazy<Config> Default = new(() =>
    {
        using var stream = typeof(StorageConfig).Assembly
            .GetManifestResourceStream("Akka.EventDriven.Storage.reference.conf")
            ?? throw new InvalidOperationException("reference.conf is not embedded.");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    });

    /// <summary>The store's defaults under <c>akka.event-driven.persistence</c>.</summary>
    public static Config DefaultConfig() => Default.Value;
}
