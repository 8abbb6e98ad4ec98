using Akka.Actor;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Projections;

namespace Akka.EventDriven.Cqrs;

/// <summary>How a query's results are cached.</summary>
/// <param name="Ttl">How long a result is served from the cache at most.</param>
/// <param name="InvalidatedBy">The aggregates whose new events make a result stale, as persistence-id prefixes:
/// <c>"Investigation-"</c> (every investigation) or <c>"Investigation-inv-1"</c> (one). Null: only the TTL applies.</param>
/// <param name="InvalidatedByTags">Tags whose new events make a result stale: an aggregate name (every event carries
/// it) or a tag from <c>Aggregate.Tags</c>, e.g. <c>"analyst:ann"</c>. Null: none.</param>
public sealed record QueryCacheOptions<TQuery>(TimeSpan Ttl, Func<TQuery, IEnumerable<string>>? InvalidatedBy = null,
    Func<TQuery, IEnumerable<string>>? InvalidatedByTags = null);
