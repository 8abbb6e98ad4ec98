using System.Collections.Concurrent;
using Akka.Actor;
using Akka.EventDriven.EventSourcing.Storage;
using Akka.EventDriven.Projections;

namespace Akka.EventDriven.Cqrs;

/// <summary>How a query's results are cached.</summary>
/// <param name="Ttl">How long a result is served from the cache at most (the guide's <c>cacheTTL</c>).</param>
/// <param name="InvalidatedBy">The aggregates whose new events make a result stale, as persistence-id prefixes:
/// <c>"Investigation-"</c> (every investigation) or <c>"Investigation-inv-1"</c> (one). Null: only the TTL applies.</param>
/// <param name="InvalidatedByTags">Tags whose new events make a result stale: an aggregate name (every event carries
/// it) or a tag from <c>Aggregate.Tags</c>, e.g. <c>"analyst:ann"</c>. Null: none.</param>
public sealed record QueryCacheOptions<TQuery>(TimeSpan Ttl, Func<TQuery, IEnumerable<string>>? InvalidatedBy = null,
    Func<TQuery, IEnumerable<string>>? InvalidatedByTags = null);

/// <summary>
/// The guide's <c>QueryBus</c>: one handler per query type, optional caching with a TTL, and — beyond the guide —
/// invalidation by events: a cached result names the aggregates it depends on, and is dropped as soon as an event of
/// one of them is projected. Each node runs its own live at-least-once projection over the journal (from its end), so
/// the cache of every node is invalidated. The cache is bounded (least recently used entries are evicted).
/// </summary>
public sealed class QueryBus : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Type, Func<object, CancellationToken, Task<object?>>> _handlers = new();
    private readonly ConcurrentDictionary<object, Entry> _cache = new();
    private readonly int _capacity;
    private readonly Projection? _invalidator;
    private readonly ProjectionId _invalidatorId;
    private readonly ActorSystem _system;
    private long _clock;

    /// <summary>Name under which the per-node invalidation followers keep their (throw-away) offsets.</summary>
    public const string InvalidatorProjectionName = "query-cache";

    private sealed class Entry(object? value, DateTime expires, string[] dependsOn, string[] tags)
    {
        public object? Value { get; } = value;
        public DateTime Expires { get; } = expires;
        public string[] DependsOn { get; } = dependsOn;
        public string[] Tags { get; } = tags;
        public long LastUsed;
    }

    /// <summary>A query bus of <paramref name="system"/>; with <paramref name="invalidateFromJournal"/> (default) it
    /// follows the event journal to invalidate cached results. <paramref name="capacity"/>: most cached results (default 10,000).</summary>
    public QueryBus(ActorSystem system, int capacity = 10_000, bool invalidateFromJournal = true)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), "The cache needs room for at least one result.");
        _capacity = capacity;
        _system = system;
        _invalidatorId = new ProjectionId(InvalidatorProjectionName, $"{system.Name}-{Guid.NewGuid():N}");
        if (invalidateFromJournal)
            _invalidator = Projection.AtLeastOnce(system, _invalidatorId,
                (e, _) => { Invalidate(e.PersistenceId, e.Tags); return Task.CompletedTask; },
                new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(50), StartFromEnd: true, IncludeTags: true));
    }

    /// <summary>The id of this bus's journal follower (its offset row is removed when the bus is disposed).</summary>
    public ProjectionId InvalidatorId => _invalidatorId;

    /// <summary>Number of cached results.</summary>
    public int CachedCount => _cache.Count;

    /// <summary>Registers the handler of <typeparamref name="TQuery"/>, cached per query value when <paramref name="cache"/> is given.</summary>
    public QueryBus Register<TQuery, TResult>(Func<TQuery, CancellationToken, Task<TResult>> handler, QueryCacheOptions<TQuery>? cache = null)
        where TQuery : notnull
    {
        ArgumentNullException.ThrowIfNull(handler);
        Func<object, CancellationToken, Task<object?>> run = async (q, ct) =>
        {
            var query = (TQuery)q;
            if (cache is null) return await handler(query, ct);
            if (_cache.TryGetValue(q, out var hit) && hit.Expires > DateTime.UtcNow)
            {
                hit.LastUsed = Interlocked.Increment(ref _clock);
                return hit.Value;
            }
            var dependsOn = cache.InvalidatedBy?.Invoke(query).ToArray() ?? [];
            var tags = cache.InvalidatedByTags?.Invoke(query).ToArray() ?? [];
            var value = await handler(query, ct);
            var entry = new Entry(value, DateTime.UtcNow + cache.Ttl, dependsOn, tags) { LastUsed = Interlocked.Increment(ref _clock) };
            _cache[q] = entry;
            if (_cache.Count > _capacity) Evict();
            return value;
        };
        if (!_handlers.TryAdd(typeof(TQuery), run))
            throw new InvalidOperationException($"A handler for query '{typeof(TQuery).Name}' is already registered.");
        return this;
    }

    /// <summary>Runs <paramref name="query"/> (or serves it from the cache).</summary>
    public async Task<TResult> ExecuteAsync<TResult>(object query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (!_handlers.TryGetValue(query.GetType(), out var handler))
            throw new InvalidOperationException($"No handler is registered for query '{query.GetType().Name}'.");
        return (TResult)(await handler(query, cancellationToken))!;
    }

    /// <summary>Drops every cached result that depends on the aggregate with <paramref name="persistenceId"/>.</summary>
    public void Invalidate(string persistenceId) => Invalidate(persistenceId, []);

    /// <summary>Drops every cached result that depends on the aggregate with <paramref name="persistenceId"/> or on
    /// one of <paramref name="tags"/>.</summary>
    public void Invalidate(string persistenceId, IReadOnlyList<string> tags)
    {
        foreach (var (key, entry) in _cache)
            if (entry.DependsOn.Any(prefix => persistenceId.StartsWith(prefix, StringComparison.Ordinal))
                || (entry.Tags.Length > 0 && tags.Count > 0 && entry.Tags.Any(t => tags.Contains(t, StringComparer.Ordinal))))
                _cache.TryRemove(key, out _);
    }

    private void Evict()
    {
        foreach (var (key, _) in _cache.OrderBy(kv => kv.Value.LastUsed).Take(Math.Max(1, _cache.Count - _capacity)))
            _cache.TryRemove(key, out _);
    }

    /// <summary>Completes once every event written before the call has been applied to the cache (no-op without
    /// journal invalidation).</summary>
    public Task WaitUntilCaughtUpAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _invalidator?.WaitUntilCaughtUpAsync(timeout, cancellationToken) ?? Task.CompletedTask;

    /// <summary>Stops following the journal and removes this follower's offset row (a live-only follower's offset is
    /// worthless once it stops), plus rows of followers that stopped without removing theirs (untouched for a day).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_invalidator is null) return;
        await _invalidator.DisposeAsync();
        try
        {
            var store = StoreSettings.FromConfig(_system.Settings.Config);
            await using var connection = store.CreateConnection();
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM projection_offsets WHERE projection_name = @name AND (projection_key = @key OR updated_at < @stale)";
            command.AddParameter("name", _invalidatorId.Name);
            command.AddParameter("key", _invalidatorId.Key);
            command.AddParameter("stale", DateTime.UtcNow.AddDays(-1).Ticks);
            await command.ExecuteNonQueryAsync();
        }
        catch (System.Data.Common.DbException)
        {
            // best effort: the database may be gone at shutdown
        }
    }
}
