using System.Data.Common;
using System.Security.Claims;
using System.Text.Json;
using Akka.Actor;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Akka.EventDriven.Http.Internal;

/// <summary>The endpoints the operations console reads beyond the rest of the API: <c>/live</c> (server-sent events),
/// <c>/trace/{correlationId}</c>, <c>/console/sagas</c> and <c>/whoami</c>.</summary>
internal sealed class ConsoleEndpoints
{
    /// <summary>Most events one trace page returns.</summary>
    public const int MaxTracePage = 500;

    private const int MaxCorrelationIdLength = 200;

    // Most dead letters the first page of a trace adds.
    private const int MaxTraceDeadLetters = 100;

    // The aggregate that journals durable bus messages (EventBus's internal BusLog): its events are bus messages.
    private const string BusLogAggregate = "EdBusLog";

    private readonly ActorSystem _system;
    private readonly MessageTypeRegistry _registry;
    private readonly StoreSettings _store;
    private readonly LiveFeed _live;

    private ConsoleEndpoints(ActorSystem system, MessageTypeRegistry registry, int maxLiveStreams)
    {
        _system = system;
        _registry = registry;
        _store = StoreSettings.FromConfig(system.Settings.Config);
        _live = new LiveFeed(system, _store, registry, maxLiveStreams);
    }

    /// <summary>Maps the console's endpoints into the API group.</summary>
    public static void Map(RouteGroupBuilder api)
    {
        var services = ((IEndpointRouteBuilder)api).ServiceProvider;
        var lazy = new Lazy<ConsoleEndpoints>(() =>
        {
            var system = services.GetRequiredService<ActorSystem>();
            return new ConsoleEndpoints(system, MessageTypes.For(system),
                services.GetService<EventDrivenHttpOptions>()?.MaxLiveStreams ?? 100);
        });
        var keys = services.GetRequiredService<ApiKeyStore>();
        api.MapGet("/live", (string? tags, string? recent, HttpContext c) => lazy.Value._live.StreamAsync(c, tags, recent))
            .WithName("LiveFeed")
            .WithSummary("Live feed (server-sent events)")
            .WithDescription("text/event-stream: a `snapshot` event every second (cluster, bus counters, projections, dead-letter " +
                             "counts, saga counts); with `tags` (comma list, at most 10) also an `event` per new journal event " +
                             "carrying one of them, after the `recent` (0-100, default 20) latest. A client that reads too slowly " +
                             "loses frames rather than growing the server's memory: a `dropped` event says how many. " +
                             "More than MaxLiveStreams (default 100) open on this node: 503 with Retry-After.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(400).ProducesProblem(503);
        api.MapGet("/trace/{correlationId}", (string correlationId, string? after, string? limit, HttpContext c) =>
                lazy.Value.TraceAsync(correlationId, after, limit, c))
            .WithName("GetTrace")
            .WithSummary("Everything that carries a correlation id, in time order")
            .WithDescription("Events of every aggregate, durable bus messages and saga steps (of the sagas started with that " +
                             "correlation id) from the console index (WithConsoleIndex), and dead letters; paged by journal " +
                             $"ordering (`after`, `limit` 1-{MaxTracePage}).")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(400);
        api.MapGet("/console/sagas", (string? state, string? limit, HttpContext c) => lazy.Value.SagasAsync(state, limit, c))
            .WithName("ListSagas")
            .WithSummary("Sagas by state, latest first (console index)")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(400);
        api.MapGet("/whoami", (ClaimsPrincipal user) => Results.Json(new
            {
                role = user.FindFirst(ApiKeyAuthentication.RoleClaim)?.Value ?? nameof(ApiRole.Read),
                keyRequired = keys.Required,
            }))
            .WithName("WhoAmI")
            .WithSummary("The role of the key sent (the console hides admin buttons for a read key)")
            .Produces(StatusCodes.Status200OK);
    }

    private static string CorrelationId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxCorrelationIdLength || id.Any(char.IsControl))
            throw BadRequestException.Field("correlationId", $"A correlation id is 1-{MaxCorrelationIdLength} printable characters.");
        return id;
    }

    public Task<IResult> TraceAsync(string correlationId, string? after, string? limit, HttpContext context) => Problems.Guard(async () =>
    {
        var id = CorrelationId(correlationId);
        var from = RequestReader.NonNegative(after, 0, "after");
        var take = RequestReader.Limit(limit, 200, MaxTracePage);
        var ct = context.RequestAborted;
        var items = new List<TraceItem>();
        var indexed = true;
        await using var connection = _store.CreateConnection();
        await connection.OpenAsync(ct);
        try
        {
            // The correlation id itself, and the ids of the sagas started with it (their own events carry the saga id).
            foreach (var row in await ConsoleReadStore.ReadTraceAsync(connection, id, from, take, ct))
                items.Add(JournalItem(row));
        }
        catch (DbException)
        {
            if (ct.IsCancellationRequested || await ConsoleReadStore.TableExistsAsync(connection, ConsoleIndex.CorrelationTable, ct)) throw;
            indexed = false; // WithConsoleIndex does not run (yet): journal events cannot be found by correlation id
        }
        long? next = items.Count == take ? items[^1].Ordering : null;
        if (from == 0) items.AddRange(await DeadLettersAsync(connection, id, ct));
        return Results.Json(new
        {
            correlationId = id, indexed,
            items = items.OrderBy(i => i.Timestamp).ThenBy(i => i.Ordering ?? long.MaxValue),
            next,
        }, _registry.JsonOptions);
    });

    private sealed record TraceItem(string Kind, long? Ordering, string? PersistenceId, string? Aggregate, string? AggregateId,
        long? SequenceNr, string Type, DateTimeOffset Timestamp, string? CorrelationId, string? CausationId, object? Data,
        string? SagaId = null, string? Queue = null, long? DeadLetterId = null, string? Reason = null);

    private TraceItem JournalItem(ConsoleEventRow row)
    {
        var (ordering, persistenceId, sequenceNr, payload, manifest, serializerId, storedTicks) = row;
        object? data;
        EventMetadata metadata;
        try
        {
            var stored = _system.Serialization.Deserialize(payload, serializerId, manifest);
            (data, metadata) = stored is DomainEvent d ? (d.Payload, d.Metadata) : (stored, new EventMetadata(new DateTimeOffset(storedTicks, TimeSpan.Zero)));
        }
        catch (Exception e)
        {
            (data, metadata) = ($"(unreadable: {e.GetBaseException().Message})", new EventMetadata(new DateTimeOffset(storedTicks, TimeSpan.Zero)));
        }
        var type = data is not null && _registry.IsRegistered(data.GetType()) ? _registry.NameOf(data.GetType()).Manifest : manifest;
        if (persistenceId.StartsWith("saga:", StringComparison.Ordinal))
            return new TraceItem("saga", ordering, persistenceId, null, null, sequenceNr, type, metadata.Timestamp,
                metadata.CorrelationId, metadata.CausationId, data, SagaId: persistenceId[5..]);
        var dash = persistenceId.IndexOf('-');
        var (aggregate, aggregateId) = dash > 0 ? (persistenceId[..dash], persistenceId[(dash + 1)..]) : (persistenceId, "");
        var kind = aggregate == BusLogAggregate ? "bus" : "event";
        return new TraceItem(kind, ordering, persistenceId, aggregate, aggregateId, sequenceNr, type, metadata.Timestamp,
            metadata.CorrelationId, metadata.CausationId, Json(data));
    }

    private object? Json(object? data)
    {
        if (data is null) return null;
        try { return JsonSerializer.SerializeToElement(data, data.GetType(), _registry.JsonOptions); }
        catch (Exception) when (data is not string) { return data.ToString(); }
    }

    private static async Task<IReadOnlyList<TraceItem>> DeadLettersAsync(DbConnection connection, string id, CancellationToken ct)
    {
        var items = new List<TraceItem>();
        try
        {
            foreach (var row in await ConsoleReadStore.ReadDeadLettersAsync(connection, id, MaxTraceDeadLetters, ct))
            {
                object data;
                try { data = JsonDocument.Parse(row.Data).RootElement.Clone(); }
                catch (JsonException) { data = row.Data; }
                items.Add(new TraceItem("dead-letter", null, null, null, null, null, row.Type,
                    new DateTimeOffset(row.PublishedAtTicks, TimeSpan.Zero), id, null, data,
                    Queue: row.Queue, DeadLetterId: row.Id, Reason: row.Reason));
            }
        }
        catch (DbException)
        {
            // No bus store tables yet: no dead letters.
        }
        return items;
    }

    public Task<IResult> SagasAsync(string? state, string? limit, HttpContext context) => Problems.Guard(async () =>
    {
        var take = RequestReader.Limit(limit, 50, 500);
        string? wanted = null;
        if (!string.IsNullOrEmpty(state))
        {
            wanted = Enum.GetNames<Sagas.SagaState>().FirstOrDefault(n => n.Equals(state, StringComparison.OrdinalIgnoreCase))
                     ?? throw BadRequestException.Field("state", $"'state' is one of {string.Join(", ", Enum.GetNames<Sagas.SagaState>())}.");
        }
        await using var connection = _store.CreateConnection();
        await connection.OpenAsync(context.RequestAborted);
        var sagas = new List<object>();
        try
        {
            foreach (var row in await ConsoleReadStore.ReadSagasAsync(connection, wanted, take, context.RequestAborted))
                sagas.Add(new
                {
                    sagaId = row.SagaId, sagaName = row.Name, state = row.State, step = row.Step, lastError = row.LastError,
                    correlationId = row.CorrelationId,
                    startedAt = new DateTimeOffset(row.StartedAtTicks, TimeSpan.Zero), updatedAt = new DateTimeOffset(row.UpdatedAtTicks, TimeSpan.Zero),
                });
        }
        catch (DbException)
        {
            if (await ConsoleReadStore.TableExistsAsync(connection, ConsoleIndex.SagaTable, context.RequestAborted)) throw;
            return Results.Json(new { indexed = false, sagas });
        }
        return Results.Json(new { indexed = true, sagas });
    });
}
