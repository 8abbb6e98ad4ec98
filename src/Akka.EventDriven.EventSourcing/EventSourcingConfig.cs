using Akka.Configuration;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.EventSourcing;

/// <summary>The embedded <c>reference.conf</c> of this module.</summary>
public static class EventSourcingConfig
{
    private static readonly Lazy<Config> Default = new(() =>
    {
        using var stream = typeof(EventSourcingConfig).Assembly
            .GetManifestResourceStream("Akka.EventDriven.EventSourcing.reference.conf")
            ?? throw new InvalidOperationException("reference.conf is not embedded.");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd()).WithFallback(StorageConfig.DefaultConfig());
    });

    /// <summary>The module's defaults under <c>akka.event-driven</c>, plus its serializer bindings, falling back to the
    /// store's defaults (<see cref="StorageConfig.DefaultConfig"/>).</summary>
    public static Config DefaultConfig() => Default.Value;
}
