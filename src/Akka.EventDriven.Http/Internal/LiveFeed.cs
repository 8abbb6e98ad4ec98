using System.Data.Common;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Projections;
using Akka.EventDriven.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Http.Internal;

/// <summary>
/// <c>GET /api/live</c>: server-sent events. Every second a <c>snapshot</c> (one per node and second, shared by every
/// client: the cluster, the bus counters that <c>/metrics</c> exports, projections, dead-letter counts per queue, saga
/// counts); on request (<c>?tags=a,b</c>) an <c>event</c> per journal event carrying one of the tags. Each client has a
/// bounded queue of frames (<see cref="LiveBuffer"/>): a client that reads slower than frames come loses frames
/// instead of growing the server's memory, and is told so with a <c>dropped</c> event.
/// </summary>
internal sealed class LiveFeed(ActorSystem system, StoreSettings store, MessageTypeRegistry registry, int maxStreams = 100)
{
    private int _streams; // open on this node
    /// <summary>Frames a client may have waiting.</summary>
    public const int BufferFrames = 32;

    /// <summary>Most events sent per second to one client.</summary>
    public const int MaxEventsPerTick = 100;

    /// <summary>Largest event payload sent as JSON; a bigger one is sent as <c>{"truncated": bytes}</c>.</summary>
    public const int MaxEventBytes = 16 * 1024;

    private const int MaxTags = 10;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly LiveSnapshots _snapshots = new(system, store);

    public async Task StreamAsync(HttpContext context, string? tagList, string? recentText)
    {
        string[] tags;
        int recent;
        try
        {
            tags = Tags(tagList);
            recent = (int)RequestReader.NonNegative(recentText, 20, "recent");
            if (recent > 100) throw BadRequestException.Field("recent", "'recent' must be from 0 to 100.");
        }
        catch (BadRequestException e)
        {
            await Problems.Write(context, e.Status, e.Title, e.Message, e.FieldName);
            return;
        }

        // A stream stays open: the request rate limit alone does not bound how many a client holds (each has a
        // buffer and, with tags, a query a second).
        if (Interlocked.Increment(ref _streams) > maxStreams)
        {
            Interlocked.Decrement(ref _streams);
            context.Response.Headers.RetryAfter = "5";
            await Problems.Write(context, StatusCodes.Status503ServiceUnavailable, "Too many live feeds",
                $"This node serves at most {maxStreams} live feeds at once; retry later.");
            return;
        }
        try
        {
            await StreamOpenAsync(context, tags, recent);
        }
        finally
        {
            Interlocked.Decrement(ref _streams);
        }
    }

    private async Task StreamOpenAsync(HttpContext context, string[] tags, int recent)
    {
        var ct = context.RequestAborted;
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var buffer = new LiveBuffer(BufferFrames);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var producer = ProduceAsync(buffer, tags, recent, stop.Token);
        try
        {
            await context.Response.WriteAsync($"retry: 2000\nevent: hello\ndata: {JsonSerializer.Serialize(new { tags, interval = Interval.TotalMilliseconds, bufferFrames = BufferFrames })}\n\n", ct);
            await context.Response.Body.FlushAsync(ct);
            await foreach (var frame in buffer.Reader.ReadAllAsync(ct))
            {
                await context.Response.WriteAsync(frame, ct);
                await context.Response.Body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            stop.Cancel();
            try { await producer; }
            catch (OperationCanceledException) { }
        }
    }

    private static string[] Tags(string? list)
    {
        if (string.IsNullOrWhiteSpace(list)) return [];
        var tags = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToArray();
        if (tags.Length > MaxTags) throw BadRequestException.Field("tags", $"At most {MaxTags} tags.");
        foreach (var tag in tags)
            if (tag.Length > 64 || tag.Any(char.IsControl))
                throw BadRequestException.Field("tags", "A tag is 1-64 printable characters.");
        return tags;
    }

    private async Task ProduceAsync(LiveBuffer buffer, string[] tags, int recent, CancellationToken ct)
    {
        var reported = 0L;
        long? after = null;
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                buffer.Offer(Frame("snapshot", await _snapshots.GetAsync(ct)));
                if (tags.Length > 0)
                {
                    var (frames, last) = await EventsAsync(tags, after, recent, ct);
                    after = last;
                    foreach (var frame in frames) buffer.Offer(frame);
                }
            }
            catch (Exception e) when (e is DbException or InvalidOperationException && !ct.IsCancellationRequested)
            {
                buffer.Offer(Frame("error", JsonSerializer.Serialize(new { error = e.GetBaseException().Message })));
            }
            var dropped = buffer.Dropped;
            if (dropped != reported && buffer.Offer(Frame("dropped", JsonSerializer.Serialize(new
                {
                    dropped, reason = $"The client read slower than the feed: at most {BufferFrames} frames wait for it, newer ones are dropped.",
                }))))
                reported = dropped;
        }
        while (await timer.WaitForNextTickAsync(ct));
    }

    private static string Frame(string name, string json) => $"event: {name}\ndata: {json}\n\n";

    private async Task<(List<string> Frames, long After)> EventsAsync(string[] tags, long? after, int recent, CancellationToken ct)
    {
        await using var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        var first = after is null;
        // The first page: the latest `recent` events (at least one is read, to learn where the feed continues).
        var rows = await ConsoleReadStore.ReadTaggedEventsAsync(connection, tags, after, first ? Math.Max(recent, 1) : MaxEventsPerTick, ct);
        if (first)
        {
            var highest = rows.Count > 0 ? rows[^1].Ordering : await ConsoleReadStore.HighestOrderingAsync(connection, ct);
            return (recent == 0 ? [] : rows.DistinctBy(r => r.Ordering).Select(EventFrame).ToList(), highest);
        }
        return (rows.DistinctBy(r => r.Ordering).Select(EventFrame).ToList(), rows.Count > 0 ? rows[^1].Ordering : after!.Value);
    }

    private string EventFrame(ConsoleTaggedEventRow row)
    {
        object? data;
        EventMetadata? metadata = null;
        try
        {
            var stored = system.Serialization.Deserialize(row.Payload, row.SerializerId, row.Manifest);
            (data, metadata) = stored is DomainEvent d ? (d.Payload, d.Metadata) : (stored, null);
        }
        catch (Exception e)
        {
            data = $"(unreadable: {e.GetBaseException().Message})";
        }
        object? json;
        try
        {
            var bytes = data is null ? [] : JsonSerializer.SerializeToUtf8Bytes(data, data.GetType(), registry.JsonOptions);
            json = bytes.Length > MaxEventBytes ? new { truncated = bytes.Length } : JsonDocument.Parse(bytes).RootElement.Clone();
        }
        catch (Exception)
        {
            json = data?.ToString();
        }
        return Frame("event", JsonSerializer.Serialize(new
        {
            ordering = row.Ordering, tag = row.Tag, persistenceId = row.PersistenceId, sequenceNr = row.SequenceNr, type = row.Manifest,
            timestamp = metadata?.Timestamp ?? new DateTimeOffset(row.StoredTicks, TimeSpan.Zero),
            correlationId = metadata?.CorrelationId, causationId = metadata?.CausationId, data = json,
        }, registry.JsonOptions));
    }
}

/// <summary>The frames waiting for one live-feed client: at most <c>capacity</c>; a frame offered to a full buffer is
/// dropped and counted (the newest go, so the client keeps an unbroken prefix and learns how much it missed).</summary>
internal sealed class LiveBuffer(int capacity)
{
    private readonly Channel<string> _channel = Channel.CreateBounded<string>(new BoundedChannelOptions(capacity)
    {
        SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
    });
    private long _dropped;

    /// <summary>Frames dropped so far because the buffer was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Frames waiting.</summary>
    public int Count => _channel.Reader.Count;

    /// <summary>What the writer reads.</summary>
    public ChannelReader<string> Reader => _channel.Reader;

    /// <summary>Queues <paramref name="frame"/>, or drops it (false) when <c>capacity</c> frames already wait.</summary>
    public bool Offer(string frame)
    {
        if (_channel.Writer.TryWrite(frame)) return true;
        Interlocked.Increment(ref _dropped);
        return false;
    }
}

/// <summary>The once-a-second snapshot of this node, computed at most once per interval however many clients watch.</summary>
internal sealed class LiveSnapshots(ActorSystem system, StoreSettings store)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private string? _json;
    private DateTime _at;

    public async Task<string> GetAsync(CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            if (_json is null || DateTime.UtcNow - _at > TimeSpan.FromMilliseconds(900))
            {
                _json = JsonSerializer.Serialize(await ComputeAsync(ct));
                _at = DateTime.UtcNow;
            }
            return _json;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<object> ComputeAsync(CancellationToken ct)
    {
        var cluster = Cluster.Cluster.Get(system);
        var state = cluster.State;
        var bus = await MessageBus.Get(system).GetMetricsAsync();
        var projections = new List<object>();
        foreach (var p in ProjectionRegistry.Get(system).Running)
        {
            try { projections.Add(ProjectionEndpoints.View(await p.GetStatusAsync(ct), p.CanRebuild)); }
            catch (Exception e) when (e is DbException or TimeoutException or InvalidOperationException) { }
        }
        await using var connection = store.CreateConnection();
        await connection.OpenAsync(ct);
        return new
        {
            at = DateTimeOffset.UtcNow,
            node = cluster.SelfAddress.ToString(),
            cluster = new
            {
                self = cluster.SelfAddress.ToString(), leader = state.Leader?.ToString(),
                members = state.Members.Count, up = state.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up),
                unreachable = state.Unreachable.Count,
            },
            bus = new
            {
                published = bus.MessagesPublished, delivered = bus.MessagesDelivered, subscriptions = bus.ActiveSubscriptions,
                deadLettered = bus.MessagesDeadLettered, retries = bus.Retries, dropped = bus.MessagesDropped,
                duplicatesSkipped = bus.DuplicatesSkipped, redeliveries = bus.Redeliveries, lag = bus.SubscriptionLag, depth = bus.QueueDepth,
            },
            journal = new { highestOrdering = await OrNullAsync(ConsoleReadStore.HighestOrderingAsync(connection, ct)) },
            projections,
            deadLetters = await OrNullAsync(ConsoleReadStore.CountDeadLettersByQueueAsync(connection, ct)),
            sagas = await OrNullAsync(ConsoleReadStore.CountSagasByStateAsync(connection, ct)),
        };
    }

    private static async Task<long?> OrNullAsync(Task<long> read)
    {
        try { return await read; }
        catch (DbException) { return null; }
    }

    /// <summary>Counts by key; null when the table does not exist (no bus store yet, no console index).</summary>
    private static async Task<IReadOnlyDictionary<string, long>?> OrNullAsync(Task<IReadOnlyDictionary<string, long>> read)
    {
        try { return await read; }
        catch (DbException) { return null; }
    }
}
