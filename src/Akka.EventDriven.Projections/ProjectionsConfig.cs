using Akka.Configuration;

namespace Akka.EventDriven.Projections;

/// <summary>The embedded <c>reference.conf</c> of this module (the read journal's section,
/// <c>akka.persistence.query.journal.event-driven</c>).</summary>
public static class ProjectionsConfig
{
    private static readonly Lazy<Config> Default =
        new(() => ConfigurationFactory.ParseString(EmbeddedReferenceConfig.Read(typeof(ProjectionsConfig))));

    /// <summary>The module's defaults.</summary>
    public static Config DefaultConfig() => Default.Value;
}
