using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.EventDriven.Cqrs;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Streaming;
using Microsoft.AspNetCore.Http;

namespace Akka.EventDriven.Http.Internal;

/// <summary>The handlers behind <c>MapEventDriven</c>. Each validates everything before it calls the platform and
/// answers a problem document for anything it refuses.</summary>
internal sealed class Endpoints(ActorSystem system, EventDrivenHttpOptions options, RequestReader reader, QueryBus? queries)
{
    public const string MeterName = "Akka.EventDriven.Http";
    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Commands = Meter.CreateCounter<long>("akka.eventdriven.commands",
        description: "Commands received over HTTP, by aggregate and outcome (accepted, rejected, conflict, failed, timeout)");
    private static readonly Histogram<double> CommandDuration = Meter.CreateHistogram<double>(
        "akka.eventdriven.command.duration", unit: "ms", description: "Time from receiving a command to its answer");

    private JsonSerializerOptions Json => reader.Registry.JsonOptions;

    private static Task<IResult> Guard(Func<Task<IResult>> handler) => Problems.Guard(handler);

    /// <summary>A JSON answer serialized up front and sent with its Content-Length: one write, no chunked framing
    /// (what <c>Results.Json</c> streams) on the hot paths.</summary>
    private IResult JsonAnswer(object value, int statusCode = StatusCodes.Status200OK) =>
        new JsonBytes(JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), Json), statusCode);

    private sealed class JsonBytes(byte[] body, int statusCode) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = statusCode;
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Response.ContentLength = body.Length;
            return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
        }
    }

    // ---- commands and aggregates ---------------------------------------------------------------------------------

    public Task<IResult> SendCommand(HttpContext context) => Guard(async () =>
    {
        var started = Stopwatch.GetTimestamp();
        var body = await reader.ReadObjectAsync(context);
        var (name, type) = reader.TypeName(body);
        if (!options.CommandRoutes.TryGetValue(type, out var route))
            return Problems.Result(404, "No handler", $"No aggregate handles command '{name.Name}' on this service.", "type");
        var aggregateId = RequestReader.AggregateId(RequestReader.OptionalString(body, "aggregateId", 255));
        var expected = RequestReader.OptionalVersion(body, "expectedVersion");
        var commandOptions = new CommandOptions
        {
            ExpectedVersion = expected,
            CorrelationId = RequestReader.OptionalString(body, "correlationId") ?? Activity.Current?.TraceId.ToString(),
            CausationId = RequestReader.OptionalString(body, "causationId"),
            Timeout = options.CommandTimeout,
            CommandId = IdempotencyKey(context) ?? RequestReader.OptionalString(body, "commandId", 255),
        };
        var command = reader.Payload(body, name, type);
        var repository = Repository(route.AggregateName);

        string outcome;
        IResult result;
        try
        {
            var sent = await repository.SendAsync(aggregateId, command, commandOptions, context.RequestAborted);
            (outcome, result) = sent switch
            {
                CommandAccepted a => ("accepted", JsonAnswer(new
                {
                    success = true,
                    data = new
                    {
                        aggregateId, version = a.Version,
                        events = a.Events.Select(e => new { type = reader.Registry.NameOf(e.GetType()).Manifest, data = e }),
                    },
                })),
                CommandRejected { IsConcurrencyConflict: true } r => ("conflict", JsonAnswer(
                    new { success = false, error = r.Reason, kind = "conflict", version = r.Version }, 409)),
                CommandRejected r => ("rejected", JsonAnswer(
                    new { success = false, error = r.Reason, kind = "rejected", version = r.Version }, 409)),
                _ => ("failed", Problems.Result(500, "Unexpected result", $"Unexpected result {sent.GetType().Name}.")),
            };
        }
        catch (AggregateFailedException e)
        {
            (outcome, result) = ("failed", Problems.Result(503, "Command could not be processed", e.Reason));
        }
        catch (TimeoutException e)
        {
            (outcome, result) = ("timeout", Problems.Result(504, "Timed out", e.Message));
        }
        var tags = new TagList { { "aggregate", route.AggregateName }, { "outcome", outcome } };
        Commands.Add(1, tags);
        CommandDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, tags);
        return result;
    });

    /// <summary>The <c>Idempotency-Key</c> request header: a client retrying a command (a timeout, a lost connection)
    /// with the same key gets the first result instead of a second effect, within the aggregate's idempotency window.</summary>
    private static string? IdempotencyKey(HttpContext context)
    {
        if (!context.Request.Headers.TryGetValue("Idempotency-Key", out var values) || values.Count == 0) return null;
        var key = values.ToString();
        if (key.Length is 0 or > 255 || key.Any(char.IsControl))
            throw new BadRequestException(400, "Bad Idempotency-Key", "The Idempotency-Key header must be 1 to 255 characters without control characters.", "Idempotency-Key");
        return key;
    }

    private IAggregateRepository Repository(string aggregateName) =>
        Aggregates.Get(system).Started.TryGetValue(aggregateName, out var repository)
            ? repository
            : throw new BadRequestException(404, "Unknown aggregate", $"No aggregate type '{aggregateName}' runs on this service.", "name");

    public Task<IResult> GetAggregate(string name, string id, HttpContext context) => Guard(async () =>
    {
        var repository = Repository(name);
        var state = await repository.GetStateObjectAsync(RequestReader.AggregateId(id, "id"), context.RequestAborted);
        return Results.Json(new { aggregate = name, aggregateId = id, version = state.Version, state = state.State }, Json);
    });

    public Task<IResult> GetAggregateAt(string name, string id, string? version, HttpContext context) => Guard(async () =>
    {
        var repository = Repository(name);
        if (string.IsNullOrEmpty(version)) throw BadRequestException.Field("version", "'version' is required.");
        var at = RequestReader.NonNegative(version, 0, "version");
        try
        {
            var state = await repository.GetStateObjectAtAsync(RequestReader.AggregateId(id, "id"), at, context.RequestAborted);
            return Results.Json(new { aggregate = name, aggregateId = id, version = state.Version, state = state.State }, Json);
        }
        catch (ArgumentOutOfRangeException e)
        {
            return Problems.Result(404, "No such version", e.Message.Split(Environment.NewLine)[0], "version");
        }
        catch (InvalidOperationException e)
        {
            return Problems.Result(410, "Version no longer stored", e.Message, "version");
        }
    });

    public Task<IResult> GetHistory(string name, string id, string? from, string? limit, HttpContext context) => Guard(async () =>
    {
        var repository = Repository(name);
        var first = Math.Max(1, RequestReader.NonNegative(from, 1, "from"));
        var take = RequestReader.Limit(limit, 100, 1000);
        var events = await repository.GetHistoryAsync(RequestReader.AggregateId(id, "id"), first, first + take - 1, context.RequestAborted);
        return Results.Json(new
        {
            aggregate = name, aggregateId = id,
            events = events.Select(e => new
            {
                sequenceNr = e.SequenceNr, type = e.TypeName, timestamp = e.Metadata.Timestamp,
                correlationId = e.Metadata.CorrelationId, causationId = e.Metadata.CausationId,
                headers = e.Metadata.Headers, data = e.Event,
            }),
            next = events.Count == take ? events[^1].SequenceNr + 1 : (long?)null,
        }, Json);
    });

    // ---- queries --------------------------------------------------------------------------------------------------

    public Task<IResult> Query(HttpContext context) => Guard(async () =>
    {
        var body = await reader.ReadObjectAsync(context);
        var (name, type) = reader.TypeName(body);
        if (queries is null || !queries.Handles(type))
            return Problems.Result(404, "No handler", $"No handler answers query '{name.Name}' on this service.", "type");
        var query = reader.Payload(body, name, type);
        var answer = await queries.QueryAsync(query, context.RequestAborted);
        return JsonAnswer(new { result = answer.Result, cached = answer.Cached });
    });

    // ---- bus ------------------------------------------------------------------------------------------------------

    public Task<IResult> Publish(string topic, HttpContext context, bool queue) => Guard(async () =>
    {
        TopicNames.Validate(topic, kind: queue ? "queue" : "topic");
        var body = await reader.ReadObjectAsync(context);
        var (name, type) = reader.TypeName(body);
        var publish = new PublishOptions
        {
            Persistent = RequestReader.OptionalBool(body, "persistent"),
            PartitionKey = RequestReader.OptionalString(body, "partitionKey", 255),
            MessageId = RequestReader.OptionalString(body, "messageId", 200),
            CorrelationId = RequestReader.OptionalString(body, "correlationId") ?? Activity.Current?.TraceId.ToString(),
        };
        var message = reader.Payload(body, name, type);
        var bus = MessageBus.Get(system);
        var receipt = queue
            ? await bus.EnqueueAsync(topic, message, publish, context.RequestAborted)
            : await bus.PublishAsync(topic, message, publish, context.RequestAborted);
        return JsonAnswer(new { messageId = receipt.MessageId, partition = receipt.Partition, sequence = receipt.Sequence }, 202);
    });

    public Task<IResult> Topics() => Guard(async () =>
    {
        var bus = MessageBus.Get(system);
        var topics = await bus.GetTopicsAsync();
        return Results.Json(new
        {
            rateWindowSeconds = MessageBus.RateWindow.TotalSeconds,
            topics = topics.Select(t => new
            {
                name = t.Name, published = t.Published, delivered = t.Delivered,
                publishedPerSecond = Math.Round(t.PublishedPerSecond, 2), deliveredPerSecond = Math.Round(t.DeliveredPerSecond, 2),
                subscriptions = t.Subscriptions, lag = t.LagByGroup,
            }),
            totals = Totals(bus.Metrics),
        }, Json);
    });

    public Task<IResult> Queues() => Guard(async () =>
    {
        var bus = MessageBus.Get(system);
        var queues = await bus.GetQueuesAsync();
        return Results.Json(new
        {
            rateWindowSeconds = MessageBus.RateWindow.TotalSeconds,
            queues = queues.Select(q => new
            {
                name = q.Name, enqueued = q.Published, delivered = q.Delivered,
                enqueuedPerSecond = Math.Round(q.PublishedPerSecond, 2), deliveredPerSecond = Math.Round(q.DeliveredPerSecond, 2),
                depth = q.Depth,
            }),
            totals = Totals(bus.Metrics),
        }, Json);
    });

    private static object Totals(BusMetricsSnapshot m) => new
    {
        published = m.MessagesPublished, delivered = m.MessagesDelivered, subscriptions = m.ActiveSubscriptions,
        deadLettered = m.MessagesDeadLettered, retries = m.Retries, dropped = m.MessagesDropped,
        duplicatesSkipped = m.DuplicatesSkipped, redeliveries = m.Redeliveries,
    };

    // ---- pipelines ------------------------------------------------------------------------------------------------

    public IResult Pipelines() => Results.Json(new
    {
        rateWindowSeconds = PipelineRegistry.RateWindow.TotalSeconds,
        pipelines = PipelineRegistry.Get(system).Snapshot().Select(p => new
        {
            name = p.Name, status = p.Status.ToString(), elementsIn = p.ElementsIn, elementsOut = p.ElementsOut,
            inPerSecond = Math.Round(p.InPerSecond, 2), outPerSecond = Math.Round(p.OutPerSecond, 2),
            errors = p.Errors, restarts = p.Restarts, lastError = p.LastError,
            window = p.Window is { } w
                ? new { kind = w.Kind.ToString(), sizeSeconds = w.Size.TotalSeconds, slideSeconds = w.Slide.TotalSeconds, unit = p.WindowUnit }
                : null,
            windows = p.Windows.Select(c => new { key = c.Key, start = c.Start, end = c.End, value = c.Value, count = c.Count }),
        }),
    }, Json);

    public Task<IResult> ListDeadLetters(string queue, string? limit, string? after) => Guard(async () =>
    {
        var dlq = MessageBus.Get(system).DeadLetters(queue);
        var take = RequestReader.Limit(limit, 100, 1000);
        var letters = await dlq.ListAsync(take, RequestReader.NonNegative(after, 0, "after"));
        return Results.Json(new
        {
            queue, count = await dlq.CountAsync(),
            letters = letters.Select(l => new
            {
                id = l.Id, messageId = l.MessageId, source = l.Source.ToString(), originalTopic = l.OriginalTopic, type = l.Type,
                payload = ParseOrText(l.Json), publishedAt = l.PublishedAt, correlationId = l.CorrelationId,
                headers = l.Headers, reason = l.Reason, attempts = l.Attempts, subscriber = l.Subscriber,
                deadLetteredAt = l.DeadLetteredAt,
            }),
            next = letters.Count == take ? letters[^1].Id : (long?)null,
        }, Json);
    });

    private static object ParseOrText(string json)
    {
        try { return JsonDocument.Parse(json).RootElement.Clone(); }
        catch (JsonException) { return json; }
    }

    public Task<IResult> ReplayDeadLetter(string queue, string id) => Guard(async () =>
    {
        var letter = RequestReader.NonNegative(id, 0, "id");
        return await MessageBus.Get(system).DeadLetters(queue).ReplayAsync(letter)
            ? Results.Json(new { replayed = 1 })
            : Problems.Result(404, "No such dead letter", $"Dead-letter queue '{queue}' holds no letter {letter}.", "id");
    });

    public Task<IResult> ReplayAll(string queue) => Guard(async () =>
    {
        var dlq = MessageBus.Get(system).DeadLetters(queue);
        var replayed = 0;
        // In pages, oldest first; each replay removes its letter, so the next page starts after the last one seen.
        for (var after = 0L; ;)
        {
            var page = await dlq.ListAsync(200, after);
            if (page.Count == 0) break;
            foreach (var letter in page)
                if (await dlq.ReplayAsync(letter.Id)) replayed++;
            after = page[^1].Id;
        }
        return Results.Json(new { replayed });
    });

    public Task<IResult> Purge(string queue) => Guard(async () =>
        Results.Json(new { purged = await MessageBus.Get(system).DeadLetters(queue).PurgeAsync() }));

    // ---- cluster --------------------------------------------------------------------------------------------------

    /// <summary>How long shard statistics are reused: asking every region of the cluster on each request would let a
    /// polling dashboard (or a client in a loop) keep every node's coordinator busy.</summary>
    internal static readonly TimeSpan ShardStatsTtl = TimeSpan.FromSeconds(1);

    private Task<Dictionary<string, Dictionary<string, object>>>? _shardStats;
    private long _shardStatsAt;
    private readonly object _shardStatsLock = new();

    public Task<IResult> ClusterState() => Guard(async () =>
    {
        var cluster = Cluster.Cluster.Get(system);
        var state = cluster.State;
        var shards = await ShardStatsAsync();
        return Results.Json(new
        {
            self = cluster.SelfAddress.ToString(),
            leader = state.Leader?.ToString(),
            members = state.Members.Select(m => new
            {
                address = m.Address.ToString(), status = m.Status.ToString(), roles = m.Roles,
                reachable = !state.Unreachable.Contains(m),
                shards = shards.GetValueOrDefault(m.Address.ToString()),
            }),
        });
    });

    /// <summary>The shards per node of every aggregate, asked at most once per <see cref="ShardStatsTtl"/>; concurrent
    /// requests share one ask.</summary>
    private Task<Dictionary<string, Dictionary<string, object>>> ShardStatsAsync()
    {
        lock (_shardStatsLock)
        {
            var now = Environment.TickCount64;
            if (_shardStats is { } cached && (!cached.IsCompleted || now - _shardStatsAt < ShardStatsTtl.TotalMilliseconds))
                return cached;
            _shardStatsAt = now;
            return _shardStats = AskShardStatsAsync();
        }
    }

    private async Task<Dictionary<string, Dictionary<string, object>>> AskShardStatsAsync()
    {
        var shards = new Dictionary<string, Dictionary<string, object>>();
        foreach (var aggregate in Aggregates.Get(system).Started.Keys)
        {
            try
            {
                var region = ClusterSharding.Get(system).ShardRegion(aggregate);
                var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(3)), TimeSpan.FromSeconds(5));
                foreach (var (address, regionStats) in stats.Regions)
                {
                    if (!shards.TryGetValue(address.ToString(), out var perNode)) shards[address.ToString()] = perNode = [];
                    perNode[aggregate] = new { shards = regionStats.Stats.Count, entities = regionStats.Stats.Values.Sum() };
                }
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                // A region that does not answer in time is left out rather than failing the whole view.
            }
        }
        return shards;
    }
}
