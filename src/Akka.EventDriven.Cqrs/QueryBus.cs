using System.Collections.Concurrent;
using Akka.Actor;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Projections;

namespace Akka.EventDriven.Cqrs;

/// <summary>
/// Routes queries to their handlers: one handler per query type, optional caching with a TTL, and
/// invalidation by events: a cached result names the aggregates it depends on, and is dropped as soon as an event of
/// one of them is projected. Each node runs its own live at-least-once projection over the journal (from its end), so
/// the cache of every node is invalidated. The cache is bounded (least recently used entries are evicted). A result is
/// not cached when an invalidation that matches it arrived while it was computed, nor when it was computed before the
/// journal follower was set up (<see cref="WaitUntilCaughtUpAsync"/> waits for that).
/// </summary>
public sealed class QueryBus : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Type, Func<object, CancellationToken, Task<QueryResult>>> _handlers = new();
    private readonly ConcurrentDictionary<object, Entry> _cache = new();
    private readonly int _capacity;
    private readonly Projection? _invalidator;
    private readonly ProjectionId _invalidatorId;
    private readonly ActorSystem _system;
    private readonly ConcurrentDictionary<Pending, byte> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _heartbeat = Task.CompletedTask;
    private readonly Task _following = Task.CompletedTask;
    private long _clock;

    /// <summary>How often a live follower marks its offset row as alive (<c>updated_at</c>), so that no other node
    /// takes it for a dead node's leftover; rows not marked for <see cref="StaleAfter"/> are removed.</summary>
    internal static readonly TimeSpan HeartbeatInterval = TimeSpan.FromHours(1);

    /// <summary>Age of <c>updated_at</c> after which a follower's offset row counts as a dead node's leftover.</summary>
    internal static readonly TimeSpan StaleAfter = TimeSpan.FromDays(1);

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

    /// <summary>A result being computed: an invalidation that matches it meanwhile keeps it out of the cache (the
    /// handler may have read the state before the event that invalidated it).</summary>
    private sealed class Pending(string[] dependsOn, string[] tags)
    {
        public string[] DependsOn { get; } = dependsOn;
        public string[] Tags { get; } = tags;
        private int _invalidated;
        public bool Invalidated => Volatile.Read(ref _invalidated) == 1;
        public void Invalidate() => Interlocked.Exchange(ref _invalidated, 1);
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
        {
            _invalidator = Projection.AtLeastOnce(system, _invalidatorId,
                (e, _) => { Invalidate(e.PersistenceId, e.Tags); return Task.CompletedTask; },
                new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(50), StartFromEnd: true, IncludeTags: true));
            _heartbeat = Task.Run(() => HeartbeatAsync(_stop.Token));
            // The follower starts from the journal's end as it is when the follower is set up, a little after this
            // constructor: an event written before then is never seen, so nothing computed before it is cached.
            _following = _invalidator.WaitUntilCaughtUpAsync(TimeSpan.FromDays(1), _stop.Token);
            _following.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    /// <summary>The id of this bus's journal follower (its offset row is removed when the bus is disposed).</summary>
    public ProjectionId InvalidatorId => _invalidatorId;

    /// <summary>Number of cached results.</summary>
    public int CachedCount => _cache.Count;

    /// <summary>Registers the handler of <typeparamref name="TQuery"/>, cached per query value when <paramref name="cache"/> is given.
    /// When the query declares its answer (<see cref="IQuery{TResult}"/>), the handler must return that type (or one
    /// derived from it): otherwise this throws <see cref="ArgumentException"/>, so a mismatch shows at start-up rather
    /// than as a failed cast at the first call.</summary>
    public QueryBus Register<TQuery, TResult>(Func<TQuery, CancellationToken, Task<TResult>> handler, QueryCacheOptions<TQuery>? cache = null)
        where TQuery : notnull
    {
        ArgumentNullException.ThrowIfNull(handler);
        var declared = DeclaredResults(typeof(TQuery));
        if (declared.Length > 0 && !declared.Any(d => d.IsAssignableFrom(typeof(TResult))))
            throw new ArgumentException(
                $"Query '{typeof(TQuery).Name}' answers {string.Join(" or ", declared.Select(d => d.Name))} (IQuery<...>), " +
                $"but the handler returns {typeof(TResult).Name}.", nameof(handler));
        Func<object, CancellationToken, Task<QueryResult>> run = async (q, ct) =>
        {
            var query = (TQuery)q;
            if (cache is null) return new QueryResult(await handler(query, ct), false);
            if (_cache.TryGetValue(q, out var hit) && hit.Expires > DateTime.UtcNow)
            {
                hit.LastUsed = Interlocked.Increment(ref _clock);
                return new QueryResult(hit.Value, true);
            }
            var dependsOn = cache.InvalidatedBy?.Invoke(query).ToArray() ?? [];
            var tags = cache.InvalidatedByTags?.Invoke(query).ToArray() ?? [];
            var pending = new Pending(dependsOn, tags);
            _pending.TryAdd(pending, 0);
            var followed = _following.IsCompletedSuccessfully;
            try
            {
                var value = await handler(query, ct);
                if (pending.Invalidated || !followed) return new QueryResult(value, false);
                var entry = new Entry(value, DateTime.UtcNow + cache.Ttl, dependsOn, tags) { LastUsed = Interlocked.Increment(ref _clock) };
                _cache[q] = entry;
                // An invalidation that marked this computation after the check above scans the cache after marking it,
                // unless it came before the store: then the mark is seen here (a full fence orders store and load).
                Interlocked.MemoryBarrier();
                if (pending.Invalidated) _cache.TryRemove(KeyValuePair.Create(q, entry));
                else if (_cache.Count > _capacity) Evict();
                return new QueryResult(value, false);
            }
            finally
            {
                _pending.TryRemove(pending, out _);
            }
        };
        if (!_handlers.TryAdd(typeof(TQuery), run))
            throw new InvalidOperationException($"A handler for query '{typeof(TQuery).Name}' is already registered.");
        return this;
    }

    /// <summary>Runs <paramref name="query"/> (or serves it from the cache) and returns its answer, typed by what the
    /// query declares: <c>decimal balance = await queries.ExecuteAsync(new Balance("acc-1"))</c> for a
    /// <c>Balance : IQuery&lt;decimal&gt;</c>. Throws <see cref="InvalidOperationException"/> when no handler is
    /// registered for its type.</summary>
    public Task<TResult> ExecuteAsync<TResult>(IQuery<TResult> query, CancellationToken cancellationToken = default) =>
        ExecuteAsync<TResult>((object)query, cancellationToken);

    /// <summary>Runs <paramref name="query"/>, of a type that does not declare its answer (see
    /// <see cref="IQuery{TResult}"/>), or serves it from the cache, and returns its answer as
    /// <typeparamref name="TResult"/>. Throws <see cref="InvalidOperationException"/> when no handler is registered for
    /// its type, and <see cref="InvalidCastException"/> naming both types when the answer is not a
    /// <typeparamref name="TResult"/>.</summary>
    public async Task<TResult> ExecuteAsync<TResult>(object query, CancellationToken cancellationToken = default)
    {
        var result = (await QueryAsync(query, cancellationToken)).Result;
        return result switch
        {
            TResult typed => typed,
            null when default(TResult) is null => default!,
            _ => throw new InvalidCastException(
                $"Query '{query.GetType().Name}' answered {result?.GetType().Name ?? "null"}, not {typeof(TResult).Name}."),
        };
    }

    private static Type[] DeclaredResults(Type queryType) =>
        queryType.GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IQuery<>))
            .Select(i => i.GenericTypeArguments[0])
            .ToArray();

    /// <summary>Runs <paramref name="query"/> (or serves it from the cache) and says which it was. Throws
    /// <see cref="InvalidOperationException"/> when no handler is registered for its type (see <see cref="Handles"/>).</summary>
    public async Task<QueryResult> QueryAsync(object query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (!_handlers.TryGetValue(query.GetType(), out var handler))
            throw new InvalidOperationException($"No handler is registered for query '{query.GetType().Name}'.");
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = "failed";
        try
        {
            var result = await handler(query, cancellationToken);
            outcome = result.Cached ? "cached" : "computed";
            return result;
        }
        finally
        {
            CqrsMetrics.QueryDone(query.GetType().Name, outcome, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>True when a handler is registered for queries of <paramref name="queryType"/>.</summary>
    public bool Handles(Type queryType) => _handlers.ContainsKey(queryType);

    /// <summary>Drops every cached result that depends on the aggregate with <paramref name="persistenceId"/>.</summary>
    public void Invalidate(string persistenceId) => Invalidate(persistenceId, []);

    /// <summary>Drops every cached result that depends on the aggregate with <paramref name="persistenceId"/> or on
    /// one of <paramref name="tags"/>.</summary>
    public void Invalidate(string persistenceId, IReadOnlyList<string> tags)
    {
        // Computations first, then the cache: a result stored after this scan of the pending ones sees its mark.
        foreach (var (pending, _) in _pending)
            if (Matches(pending.DependsOn, pending.Tags, persistenceId, tags)) pending.Invalidate();
        Interlocked.MemoryBarrier();
        foreach (var (key, entry) in _cache)
            if (Matches(entry.DependsOn, entry.Tags, persistenceId, tags))
                _cache.TryRemove(key, out _);
    }

    private static bool Matches(string[] dependsOn, string[] entryTags, string persistenceId, IReadOnlyList<string> tags) =>
        dependsOn.Any(prefix => persistenceId.StartsWith(prefix, StringComparison.Ordinal))
        || (entryTags.Length > 0 && tags.Count > 0 && entryTags.Any(t => tags.Contains(t, StringComparer.Ordinal)));

    private void Evict()
    {
        foreach (var (key, _) in _cache.OrderBy(kv => kv.Value.LastUsed).Take(Math.Max(1, _cache.Count - _capacity)))
            _cache.TryRemove(key, out _);
    }

    /// <summary>Completes once every event written before the call has been applied to the cache (no-op without
    /// journal invalidation). Results are cached only once the journal follower runs, at the latest after this.</summary>
    public async Task WaitUntilCaughtUpAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (_invalidator is null) return;
        await _invalidator.WaitUntilCaughtUpAsync(timeout, cancellationToken);
        await _following.WaitAsync(timeout, cancellationToken);
    }

    /// <summary>Marks this follower's offset row as alive every <see cref="HeartbeatInterval"/> (an idle follower stores
    /// no offset, and a new row starts with <c>updated_at</c> 0), retrying soon until the projection created the row.</summary>
    private async Task HeartbeatAsync(CancellationToken ct)
    {
        var offsets = new ProjectionOffsetStore(StoreSettings.FromConfig(_system.Settings.Config));
        while (!ct.IsCancellationRequested)
        {
            var wait = TimeSpan.FromSeconds(1);
            try
            {
                if (await offsets.TouchAsync(_invalidatorId.Name, _invalidatorId.Key, DateTime.UtcNow.Ticks, ct)) wait = HeartbeatInterval;
            }
            catch (Exception e) when (e is System.Data.Common.DbException && !ct.IsCancellationRequested)
            {
                wait = TimeSpan.FromSeconds(10); // the table may not exist yet, or the database is briefly away
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            try { await Task.Delay(wait, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Stops following the journal and removes this follower's offset row (a live-only follower's offset is
    /// worthless once it stops), plus rows of followers that stopped without removing theirs: rows whose heartbeat
    /// (<c>updated_at</c>) is older than a day. A row still at <c>updated_at</c> 0 belongs to a follower that started
    /// but has not stored an offset nor beaten yet, so it is never taken for a leftover.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_invalidator is null) return;
        if (_stop.IsCancellationRequested) return;
        await _stop.CancelAsync();
        await _heartbeat;
        await _invalidator.DisposeAsync();
        try
        {
            await new ProjectionOffsetStore(StoreSettings.FromConfig(_system.Settings.Config))
                .DeleteOffsetsAsync(_invalidatorId.Name, _invalidatorId.Key, (DateTime.UtcNow - StaleAfter).Ticks);
        }
        catch (System.Data.Common.DbException)
        {
            // best effort: the database may be gone at shutdown
        }
    }
}
