using System.Text.Json;
using Akka.Actor;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.Sagas;
using Microsoft.AspNetCore.Http;

namespace Akka.EventDriven.Http.Internal;

/// <summary>The saga and request-reply handlers behind <c>MapEventDriven</c> (<c>/sagas</c>, <c>/requests</c>). Like
/// <see cref="Endpoints"/>, each checks everything before it calls the platform.</summary>
internal sealed class SagaEndpoints(ActorSystem system, RequestReader reader, string prefix)
{
    /// <summary>Longest request-reply wait a client may ask for: a request holds an HTTP connection and a temporary actor.</summary>
    public const int MaxRequestTimeoutMs = 60_000;

    private const int MaxSagaIdLength = 200;

    private JsonSerializerOptions Json => reader.Registry.JsonOptions;

    private static Task<IResult> Guard(Func<Task<IResult>> handler) => Problems.Guard(handler);

    // The orchestrator exists only where sagas were set up (WithSagas or SagaOrchestrator.Get): creating it here would
    // start a saga region and resume sweep on a node that never asked for them.
    private SagaOrchestrator? Orchestrator => system.HasExtension<SagaOrchestrator>() ? SagaOrchestrator.Get(system) : null;

    private static string SagaId(string? id, string field) => Ids.Check(id, field, MaxSagaIdLength);

    public Task<IResult> StartSaga(string name, HttpContext context) => Guard(async () =>
    {
        var orchestrator = Orchestrator;
        if (orchestrator is null || !orchestrator.Definitions.TryGetValue(name, out var definition))
            return Problems.Result(404, "Unknown saga", $"No saga named '{name}' is registered on this service.", "name");
        var body = await reader.ReadObjectAsync(context);
        var sagaId = RequestReader.OptionalString(body, "sagaId", MaxSagaIdLength) is { } given ? SagaId(given, "sagaId") : null;
        var correlationId = RequestReader.OptionalString(body, "correlationId");
        var input = reader.Value(body, "input", definition.DataType, $"the data of saga '{name}'");
        var id = await orchestrator.ExecuteAsync(name, input, new SagaStartOptions { SagaId = sagaId, CorrelationId = correlationId },
            context.RequestAborted);
        var status = $"{prefix.TrimEnd('/')}/sagas/{Uri.EscapeDataString(id)}";
        context.Response.Headers.Location = status;
        return Results.Json(new { sagaId = id, sagaName = name, status }, Json, statusCode: StatusCodes.Status202Accepted);
    });

    public Task<IResult> GetSaga(string id, HttpContext context) => Guard(async () =>
    {
        SagaId(id, "id");
        var orchestrator = Orchestrator;
        var status = orchestrator is null ? null : await orchestrator.GetStatusAsync(id, context.RequestAborted);
        if (status is null) return Problems.Result(404, "Unknown saga", $"No saga with id '{id}' was started.", "id");
        return Results.Json(new
        {
            sagaId = status.SagaId, sagaName = status.SagaName, state = status.State.ToString(), currentStep = status.CurrentStep,
            data = status.Data, reason = status.Reason, startedAt = status.StartedAt, finishedAt = status.FinishedAt,
            completedSteps = status.CompletedSteps, compensatedSteps = status.CompensatedSteps,
            history = status.History.Select(a => new
            {
                step = a.StepId, compensation = a.Compensation, attempt = a.Attempt, succeeded = a.Succeeded,
                error = a.Error, timedOut = a.TimedOut, at = a.At,
            }),
        }, Json);
    });

    // ---- request-reply --------------------------------------------------------------------------------------------

    public Task<IResult> Request(string subject, HttpContext context) => Guard(async () =>
    {
        try { TopicNames.Validate(subject, kind: "subject"); }
        catch (ArgumentException e) { throw BadRequestException.Field("subject", e.Message); }
        var body = await reader.ReadObjectAsync(context);
        var (name, type) = reader.TypeName(body);
        var timeout = TimeoutMs(body);
        var request = reader.Payload(body, name, type);
        var bus = MessageBus.Get(system);
        object reply;
        try
        {
            reply = await bus.RequestAsync<object>(subject, request, timeout, context.RequestAborted);
        }
        catch (TimeoutException e)
        {
            return Problems.Result(504, "No reply", e.Message, extra: new { subject });
        }
        catch (RequestFailedException e) when (e.ErrorType == "Overloaded")
        {
            // The handler runs as many requests as it may and its queue is full: a passing condition, so 503.
            context.Response.Headers.RetryAfter = "1";
            return Problems.Result(503, "Request handler overloaded", e.Message, extra: new { subject });
        }
        catch (RequestFailedException e)
        {
            return Problems.Result(502, "Request handler failed", e.Message, extra: new { subject });
        }
        var replyType = reader.Registry.IsRegistered(reply.GetType()) ? reader.Registry.NameOf(reply.GetType()).Manifest : null;
        return Results.Json(new { subject, type = replyType, payload = reply }, Json);
    });

    private static TimeSpan? TimeoutMs(JsonElement body)
    {
        if (!body.TryGetProperty("timeoutMs", out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var ms) || ms < 1 || ms > MaxRequestTimeoutMs)
            throw BadRequestException.Field("timeoutMs", $"'timeoutMs' must be a whole number of milliseconds from 1 to {MaxRequestTimeoutMs}.");
        return TimeSpan.FromMilliseconds(ms);
    }
}
