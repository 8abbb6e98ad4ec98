using Akka.Configuration;

namespace Akka.EventDriven.Cqrs;

/// <summary>The embedded <c>reference.conf</c> of this module (<c>akka.event-driven.cqrs</c>).</summary>
public static class CqrsConfig
{
    /// <summary>The HOCON path of this module's settings.</summary>
    public const string Path = "akka.event-driven.cqrs";

    private static readonly Lazy<Config> Default = new(() => ConfigurationFactory.ParseString(EmbeddedReferenceConfig.Read(typeof(CqrsConfig))));

    /// <summary>The module's defaults.</summary>
    public static Config DefaultConfig() => Default.Value;
}
