using Akka.Actor;
using Akka.EventDriven.EventSourcing.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Http.Internal;

/// <summary>The saga and request-reply routes, and what the OpenAPI document says about every endpoint of the API group.</summary>
internal static class ApiDescriptions
{
    private const string ProblemJson = "application/problem+json";

    /// <summary>Maps <c>/sagas</c> and <c>/requests</c> into <paramref name="api"/> and describes every endpoint of the group.</summary>
    public static void Map(RouteGroupBuilder api, string prefix, EventDrivenHttpOptions options)
    {
        var services = ((IEndpointRouteBuilder)api).ServiceProvider;
        // Built at the first request, like Endpoints: the actor system starts after the endpoints are mapped.
        var lazy = new Lazy<SagaEndpoints>(() =>
        {
            var system = services.GetRequiredService<ActorSystem>();
            var maxBody = options.MaxBodyBytes ?? MessageBus.Get(system).Settings.MaxMessageBytes + 4096L;
            return new SagaEndpoints(system, new RequestReader(options, MessageTypes.For(system), maxBody), prefix);
        });
        SagaEndpoints E() => lazy.Value;

        api.MapPost("/sagas/{name}", (string name, HttpContext c) => E().StartSaga(name, c))
            .WithName("StartSaga")
            .WithSummary("Start a saga")
            .WithDescription("Starts an instance of the registered saga {name} with `input` as its data (the saga's data type, " +
                             "read strictly); optional `sagaId` (an existing id starts nothing) and `correlationId`. " +
                             "Answers 202 with the saga id and where to follow it.")
            .Produces(StatusCodes.Status202Accepted)
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(504);
        api.MapGet("/sagas/{id}", (string id, HttpContext c) => E().GetSaga(id, c))
            .WithName("GetSaga")
            .WithSummary("A saga's status")
            .WithDescription("State, current step, completed and compensated steps, and every attempt with its error.")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(504);
        api.MapPost("/requests/{subject}", (string subject, HttpContext c) => E().Request(subject, c))
            .WithName("SendRequest")
            .WithSummary("Request-reply on a bus subject")
            .WithDescription("Sends the message `type`/`payload` to one handler of {subject} and answers its reply (stable type " +
                             $"name and JSON). `timeoutMs` 1-{SagaEndpoints.MaxRequestTimeoutMs}; no reply in time: 504; " +
                             "the handler threw: 502; the handler runs its maximum of requests and its queue is full: 503 with Retry-After.")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(400).ProducesProblem(413).ProducesProblem(415).ProducesProblem(502).ProducesProblem(503).ProducesProblem(504);

        ((IEndpointConventionBuilder)api).Finally(endpoint => Describe(endpoint, prefix));
    }

    // No Accepts metadata: routing matches it against the request's Content-Type, so a wrong one would fall through to
    // the catch-all 404 instead of the reader's 415 problem.

    // Names, summaries and problem statuses of the endpoints mapped elsewhere (keyed by method and route below the
    // prefix). An endpoint missing here still gets a derived name, a summary and the problems every endpoint can give.
    private static readonly Dictionary<string, (string Name, string Summary, int[] Problems)> Known = new(StringComparer.Ordinal)
    {
        ["POST /commands"] = ("SendCommand", "Send a command to an aggregate", [400, 404, 413, 415, 503, 504]),
        ["GET /aggregates/{name}/{id}"] = ("GetAggregate", "An aggregate's state and version", [400, 404]),
        ["GET /aggregates/{name}/{id}/history"] = ("GetAggregateHistory", "An aggregate's events, paged", [400, 404]),
        ["GET /aggregates/{name}/{id}/state"] = ("GetAggregateAtVersion", "An aggregate's state at a version", [400, 404, 410]),
        ["POST /topics/{topic}"] = ("PublishToTopic", "Publish a message on a topic", [400, 413, 415]),
        ["POST /queues/{queue}"] = ("EnqueueToQueue", "Enqueue a message on a queue", [400, 413, 415]),
        ["POST /queries"] = ("SendQuery", "Run a query through the query bus ({result, cached})", [400, 404, 413, 415, 504]),
        ["GET /topics"] = ("ListTopics", "Known topics with publish/delivery rates, subscriptions and lag per durable group", []),
        ["GET /queues"] = ("ListQueues", "Known queues with enqueue/delivery rates and depth", []),
        ["GET /pipelines"] = ("ListPipelines", "Stream pipelines with elements in/out, rates, errors and restarts", []),
        ["GET /dead-letters/{queue}"] = ("ListDeadLetters", "A dead-letter queue's letters, paged", [400]),
        ["POST /dead-letters/{queue}/{id}/replay"] = ("ReplayDeadLetter", "Replay one dead letter (admin)", [400, 404]),
        ["POST /dead-letters/{queue}/replay-all"] = ("ReplayAllDeadLetters", "Replay every dead letter of a queue (admin)", [400]),
        ["DELETE /dead-letters/{queue}"] = ("PurgeDeadLetters", "Purge a dead-letter queue (admin)", [400]),
        ["GET /cluster"] = ("GetCluster", "Members, roles, reachability, leader and shards per node", []),
    };

    private static void Describe(EndpointBuilder endpoint, string prefix)
    {
        if (endpoint is not RouteEndpointBuilder route) return;
        var methods = endpoint.Metadata.OfType<IHttpMethodMetadata>().LastOrDefault()?.HttpMethods;
        if (methods is not { Count: 1 })
        {
            // The catch-all 404 answers any method: it is no operation of its own.
            if (route.RoutePattern.Parameters.Any(p => p.IsCatchAll)) endpoint.Metadata.Add(new ExcludeFromDescriptionAttribute());
            return;
        }
        var method = methods[0];
        var path = PathOf(route.RoutePattern);
        var relative = path.StartsWith(prefix.TrimEnd('/'), StringComparison.Ordinal) ? path[prefix.TrimEnd('/').Length..] : path;
        Known.TryGetValue($"{method} {relative}", out var known);

        if (endpoint.Metadata.OfType<IEndpointNameMetadata>().LastOrDefault() is null)
        {
            var name = known.Name ?? method[..1] + method[1..].ToLowerInvariant()
                + string.Concat(relative.Split('/', '-', '{', '}').Where(s => s.Length > 0).Select(s => char.ToUpperInvariant(s[0]) + s[1..]));
            endpoint.Metadata.Add(new EndpointNameMetadata(name));
        }
        if (endpoint.Metadata.OfType<IEndpointSummaryMetadata>().LastOrDefault() is null)
            endpoint.Metadata.Add(new EndpointSummaryAttribute(known.Summary ?? $"{method} {relative}"));

        // Every endpoint of the group can refuse a key (401, 403) or a rate (429); every POST reads input it can refuse (400).
        var statuses = new SortedSet<int>(known.Problems ?? []) { 401, 403, 429 };
        if (method == HttpMethods.Post) statuses.Add(400);
        var declared = endpoint.Metadata.OfType<IProducesResponseTypeMetadata>().Select(m => m.StatusCode).ToHashSet();
        foreach (var status in statuses.Where(s => !declared.Contains(s)))
            endpoint.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(ProblemDetails), [ProblemJson]));
    }

    /// <summary>The path as OpenAPI writes it: parameters without constraints, defaults or catch-all markers.</summary>
    public static string PathOf(RoutePattern pattern) =>
        "/" + string.Join("/", pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
            RoutePatternSeparatorPart separator => separator.Content,
            _ => "",
        }))));
}
