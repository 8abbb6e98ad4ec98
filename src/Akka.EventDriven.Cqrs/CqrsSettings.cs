using Akka.Actor;
using Akka.Configuration;

namespace Akka.EventDriven.Cqrs;

/// <summary>Settings of the node's command and query buses (<c>akka.event-driven.cqrs</c>; see its reference.conf).</summary>
/// <param name="QueryCacheCapacity">Most cached query results. Default 10,000.</param>
/// <param name="InvalidateFromJournal">Drop cached results at the next event of an aggregate they depend on. Default on.</param>
public sealed record CqrsSettings(int QueryCacheCapacity, bool InvalidateFromJournal)
{
    /// <summary>The settings of <paramref name="system"/> over the defaults.</summary>
    /// <exception cref="ConfigurationException">A value is invalid; the message names the key.</exception>
    public static CqrsSettings Create(ActorSystem system) => Create(system.Settings.Config);

    /// <summary>The settings in <paramref name="config"/> over the defaults.</summary>
    /// <exception cref="ConfigurationException">A value is invalid; the message names the key.</exception>
    public static CqrsSettings Create(Config config)
    {
        var c = config.WithFallback(CqrsConfig.DefaultConfig()).GetConfig(CqrsConfig.Path);
        return new CqrsSettings(c.GetInt("query-cache-capacity"), c.GetBoolean("invalidate-from-journal")).Validate();
    }

    /// <summary>A copy with another cache capacity.</summary>
    public CqrsSettings WithQueryCacheCapacity(int capacity) => (this with { QueryCacheCapacity = capacity }).Validate();

    /// <summary>A copy that does (or does not) follow the journal.</summary>
    public CqrsSettings WithInvalidateFromJournal(bool invalidate) => this with { InvalidateFromJournal = invalidate };

    private CqrsSettings Validate()
    {
        if (QueryCacheCapacity < 1)
            throw new ConfigurationException($"{CqrsConfig.Path}.query-cache-capacity must be at least 1 (was {QueryCacheCapacity}).");
        return this;
    }
}
