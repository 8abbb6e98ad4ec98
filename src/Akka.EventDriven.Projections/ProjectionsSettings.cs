using Akka.Actor;
using Akka.Configuration;

namespace Akka.EventDriven.Projections;

/// <summary>Settings of the module's read journal (<c>akka.persistence.query.journal.event-driven</c>; see its
/// reference.conf). Each projection has its own <see cref="ProjectionSettings"/> besides.</summary>
/// <param name="RefreshInterval">How long a live query waits before it polls again once caught up. Default 250 ms.</param>
/// <param name="BatchSize">Most journal rows one query reads. Default 500.</param>
/// <param name="GapTimeout">SQLite: how long a hole in the orderings is waited for. Default 10 s.</param>
public sealed record ProjectionsSettings(TimeSpan RefreshInterval, int BatchSize, TimeSpan GapTimeout)
{
    /// <summary>The settings of <paramref name="system"/> over the defaults.</summary>
    /// <exception cref="ConfigurationException">A value is invalid; the message names the key.</exception>
    public static ProjectionsSettings Create(ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        return Create(system.Settings.Config);
    }

    /// <summary>The settings in <paramref name="config"/> (a whole configuration) over the defaults.</summary>
    /// <exception cref="ConfigurationException">A value is invalid; the message names the key.</exception>
    public static ProjectionsSettings Create(Config config) =>
        FromSection((config ?? ConfigurationFactory.Empty).GetConfig(EventDrivenReadJournal.Identifier));

    /// <summary>The settings in the read journal's own section (what <c>ReadJournalFor</c> hands its provider).</summary>
    internal static ProjectionsSettings FromSection(Config? section)
    {
        var c = (section ?? ConfigurationFactory.Empty).WithFallback(ProjectionsConfig.DefaultConfig().GetConfig(EventDrivenReadJournal.Identifier));
        return new ProjectionsSettings(c.GetTimeSpan("refresh-interval"), c.GetInt("batch-size"), c.GetTimeSpan("gap-timeout")).Validate();
    }

    /// <summary>A copy with another refresh interval.</summary>
    public ProjectionsSettings WithRefreshInterval(TimeSpan interval) => (this with { RefreshInterval = interval }).Validate();

    /// <summary>A copy with another batch size.</summary>
    public ProjectionsSettings WithBatchSize(int batchSize) => (this with { BatchSize = batchSize }).Validate();

    /// <summary>A copy with another gap timeout.</summary>
    public ProjectionsSettings WithGapTimeout(TimeSpan timeout) => (this with { GapTimeout = timeout }).Validate();

    private ProjectionsSettings Validate()
    {
        const string path = EventDrivenReadJournal.Identifier;
        if (RefreshInterval <= TimeSpan.Zero) throw new ConfigurationException($"{path}.refresh-interval must be positive (was {RefreshInterval}).");
        if (BatchSize < 1) throw new ConfigurationException($"{path}.batch-size must be at least 1 (was {BatchSize}).");
        if (GapTimeout <= TimeSpan.Zero) throw new ConfigurationException($"{path}.gap-timeout must be positive (was {GapTimeout}).");
        return this;
    }
}
