using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Akka.EventDriven.Http.Internal;

/// <summary>A request the API refuses, as an RFC 7807 problem: which field is wrong and why.</summary>
internal sealed class BadRequestException(int status, string title, string detail, string? field = null) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public string? FieldName { get; } = field;

    public static BadRequestException Field(string field, string detail) =>
        new(StatusCodes.Status400BadRequest, "Invalid request", detail, field);
}

/// <summary>Writes problem documents (<c>application/problem+json</c>).</summary>
internal static class Problems
{
    public static IResult Result(int status, string title, string detail, string? field = null, object? extra = null)
    {
        var extensions = new Dictionary<string, object?>();
        if (field is not null) extensions["field"] = field;
        if (extra is not null) extensions["details"] = extra;
        return Results.Problem(detail: detail, statusCode: status, title: title, type: TypeFor(status), extensions: extensions);
    }

    /// <summary>Runs an endpoint's handler and turns what it refuses into problem documents: a 4xx for bad input,
    /// 413 for an oversize message, 504 for a timeout. Anything else is a server fault and propagates.</summary>
    public static async Task<IResult> Guard(Func<Task<IResult>> handler)
    {
        try { return await handler(); }
        catch (BadRequestException e) { return From(e); }
        catch (Akka.EventDriven.Serialization.UnregisteredMessageTypeException e) { return Result(400, "Invalid request", e.Message, "type"); }
        catch (ArgumentException e) { return Result(400, "Invalid request", e.Message, e.ParamName); }
        catch (Akka.EventDriven.EventBus.MessageTooLargeException e) { return Result(413, "Message too large", e.Message, "payload"); }
        // The store or an aggregate behind the endpoint (a durable topic's log, say) could not take the write now: the
        // database is down or the breaker in front of it is open. Nothing was stored; the client may try again.
        catch (Akka.EventDriven.EventSourcing.AggregateFailedException e) { return Result(503, "Could not be processed", e.Message); }
        catch (Akka.Actor.AskTimeoutException e) { return Result(504, "Timed out", e.Message); }
        catch (TimeoutException e) { return Result(504, "Timed out", e.Message); }
    }

    public static IResult From(BadRequestException e) => Result(e.Status, e.Title, e.Message, e.FieldName);

    public static async Task Write(HttpContext context, int status, string title, string detail, string? field = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        var body = new Dictionary<string, object?>
        {
            ["type"] = TypeFor(status), ["title"] = title, ["status"] = status, ["detail"] = detail,
        };
        if (field is not null) body["field"] = field;
        await context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }

    private static string TypeFor(int status) => status switch
    {
        400 => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        401 => "https://tools.ietf.org/html/rfc9110#section-15.5.2",
        403 => "https://tools.ietf.org/html/rfc9110#section-15.5.4",
        404 => "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        409 => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        413 => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        415 => "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        502 => "https://tools.ietf.org/html/rfc9110#section-15.6.3",
        503 => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        504 => "https://tools.ietf.org/html/rfc9110#section-15.6.5",
        _ => "about:blank",
    };
}
