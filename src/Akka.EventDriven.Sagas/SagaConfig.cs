using Akka.Configuration;

namespace Akka.EventDriven.Sagas;

/// <summary>The embedded <c>reference.conf</c> of the saga module.</summary>
public static class SagaConfig
{
    private static readonly Lazy<Config> Default =
        new(() => ConfigurationFactory.ParseString(EmbeddedReferenceConfig.Read(typeof(SagaConfig))));

    /// <summary>The defaults under <c>akka.event-driven.sagas</c>, plus the serializer binding of saga messages.</summary>
    public static Config DefaultConfig() => Default.Value;
}
