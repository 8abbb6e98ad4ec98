using System.Net;
using System.Text;
using System.Text.Json;
using Akka.DependencyInjection;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.Sagas;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Http.Tests;

/// <summary>The data of the test saga: which step fails (-1: none), and what the steps did.</summary>
public sealed class TripData
{
    public string Trip { get; set; } = "";
    public int FailStep { get; set; } = -1;
    public List<string> Done { get; set; } = [];
}

public static class TripSaga
{
    /// <summary>reserve -> charge -> confirm, one attempt each; a failing step compensates the ones before it.</summary>
    public static readonly SagaDefinition<TripData> Definition = SagaDefinition.Define<TripData>("http-trip", s =>
    {
        string[] steps = ["reserve", "charge", "confirm"];
        for (var i = 0; i < steps.Length; i++)
        {
            var index = i;
            s.Step(steps[i], steps[i],
                action: (ctx, _) =>
                {
                    if (ctx.Data.FailStep == index) throw new InvalidOperationException($"{steps[index]} declined for {ctx.Data.Trip}");
                    ctx.Data.Done.Add(steps[index]);
                    return Task.CompletedTask;
                },
                compensation: (_, _) => Task.CompletedTask);
        }
    });

    public static async Task<ServiceHost> StartHostAsync(TestStore store)
    {
        var host = await ServiceHost.StartAsync(store);
        var sagas = SagaOrchestrator.Get(host.System).Register(Definition);
        await sagas.StartAsync();
        return host;
    }
}

/// <summary>Helpers for problem documents.</summary>
public static class Problem
{
    public static async Task<JsonElement> AssertAsync(HttpResponseMessage response, HttpStatusCode status, string? field = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        if (field is not null) Assert.Equal(field, problem.GetProperty("field").GetString());
        return problem;
    }

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string path, string body, string contentType = "application/json") =>
        client.PostAsync(path, new StringContent(body, Encoding.UTF8, contentType));
}

/// <summary><c>POST /api/sagas/{name}</c> and <c>GET /api/sagas/{id}</c> on a real Kestrel, with the saga journal and
/// index in SQLite or PostgreSQL.</summary>
public abstract class SagaHttpSpec
{
    protected abstract TestStore NewStore();

    private static string NewId() => $"trip-{Guid.NewGuid():N}";

    private static async Task<JsonElement> FinishedAsync(HttpClient http, string id)
    {
        JsonElement status = default;
        await TestWait.UntilAsync(async () =>
        {
            var response = await http.GetAsync($"/api/sagas/{id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            status = await Json.ReadAsync(response);
            Assert.NotEqual("Running", status.GetProperty("state").GetString());
            Assert.NotEqual("Compensating", status.GetProperty("state").GetString());
        }, TimeSpan.FromSeconds(60));
        return status;
    }

    [Fact]
    public async Task A_saga_started_over_http_runs_and_its_status_shows_its_steps()
    {
        await using var host = await TripSaga.StartHostAsync(NewStore());
        using var http = host.Client(ServiceHost.ReadKey);
        var id = NewId();

        var started = await http.PostJsonAsync("/api/sagas/http-trip", new { input = new { trip = "lisbon" }, sagaId = id, correlationId = "corr-1" });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var receipt = await Json.ReadAsync(started);
        Assert.Equal(id, receipt.GetProperty("sagaId").GetString());
        Assert.Equal($"/api/sagas/{id}", started.Headers.Location?.OriginalString);

        var status = await FinishedAsync(http, id);
        Assert.Equal("Completed", status.GetProperty("state").GetString());
        Assert.Equal("http-trip", status.GetProperty("sagaName").GetString());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("currentStep").ValueKind);
        Assert.Equal(["reserve", "charge", "confirm"], status.GetProperty("completedSteps").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(["reserve", "charge", "confirm"], status.GetProperty("data").GetProperty("done").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("lisbon", status.GetProperty("data").GetProperty("trip").GetString());
        Assert.All(status.GetProperty("history").EnumerateArray(), a => Assert.True(a.GetProperty("succeeded").GetBoolean()));

        // Starting the same id again starts nothing and names the same saga; without an id the service picks one.
        var again = await http.PostJsonAsync("/api/sagas/http-trip", new { input = new { trip = "other" }, sagaId = id });
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal("lisbon", (await FinishedAsync(http, id)).GetProperty("data").GetProperty("trip").GetString());
        var generated = await Json.ReadAsync(await http.PostJsonAsync("/api/sagas/http-trip", new { input = new { trip = "porto" } }));
        Assert.Equal("Completed", (await FinishedAsync(http, generated.GetProperty("sagaId").GetString()!)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_failing_saga_is_compensated_and_its_history_names_the_error()
    {
        await using var host = await TripSaga.StartHostAsync(NewStore());
        using var http = host.Client(ServiceHost.ReadKey);
        var id = NewId();

        Assert.Equal(HttpStatusCode.Accepted,
            (await http.PostJsonAsync("/api/sagas/http-trip", new { input = new { trip = "oslo", failStep = 1 }, sagaId = id })).StatusCode);
        var status = await FinishedAsync(http, id);
        Assert.Equal("Compensated", status.GetProperty("state").GetString());
        Assert.Equal(["reserve"], status.GetProperty("completedSteps").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(["reserve"], status.GetProperty("compensatedSteps").EnumerateArray().Select(s => s.GetString()));
        var failed = Assert.Single(status.GetProperty("history").EnumerateArray(), a => !a.GetProperty("succeeded").GetBoolean());
        Assert.Equal("charge", failed.GetProperty("step").GetString());
        Assert.False(failed.GetProperty("compensation").GetBoolean());
        Assert.Contains("charge declined for oslo", failed.GetProperty("error").GetString());
        Assert.Contains(status.GetProperty("history").EnumerateArray(),
            a => a.GetProperty("compensation").GetBoolean() && a.GetProperty("step").GetString() == "reserve" && a.GetProperty("succeeded").GetBoolean());
    }

    [Fact]
    public async Task Bad_saga_requests_are_4xx_problems_and_start_nothing()
    {
        await using var host = await TripSaga.StartHostAsync(NewStore());
        using var http = host.Client(ServiceHost.ReadKey);
        var id = NewId();
        var cases = new (string Body, HttpStatusCode Status, string? Field)[]
        {
            ($$$"""{"sagaId":"{{{id}}}"}""", HttpStatusCode.BadRequest, "input"),
            ($$$"""{"sagaId":"{{{id}}}","input":null}""", HttpStatusCode.BadRequest, "input"),
            ($$$"""{"sagaId":"{{{id}}}","input":[1]}""", HttpStatusCode.BadRequest, "input"),
            ($$$"""{"sagaId":"{{{id}}}","input":"lisbon"}""", HttpStatusCode.BadRequest, "input"),
            ($$$"""{"sagaId":"{{{id}}}","input":{"trip":5}}""", HttpStatusCode.BadRequest, "input"),
            ($$$"""{"sagaId":"{{{id}}}","input":{"trip":"x","unknownField":1}}""", HttpStatusCode.BadRequest, "input"),
            ($$$"""{"sagaId":"{{{id}}}","input":{"trip":"x","$type":"System.Diagnostics.Process, System"}}""", HttpStatusCode.BadRequest, "input.$type"),
            ($$$"""{"sagaId":"{{{id}}}","input":{"trip":"x","done":[{"$type":"x"}]}}""", HttpStatusCode.BadRequest, "input.done[0].$type"),
            ("""{"sagaId":"a b","input":{"trip":"x"}}""", HttpStatusCode.BadRequest, "sagaId"),
            ("""{"sagaId":"","input":{"trip":"x"}}""", HttpStatusCode.BadRequest, "sagaId"),
            ("""{"sagaId":5,"input":{"trip":"x"}}""", HttpStatusCode.BadRequest, "sagaId"),
            ("""{"sagaId":"x'; DROP TABLE saga_index; --","input":{"trip":"x"}}""", HttpStatusCode.BadRequest, "sagaId"),
            ($$$"""{"sagaId":"{{{new string('s', 201)}}}","input":{"trip":"x"}}""", HttpStatusCode.BadRequest, "sagaId"),
            ($$$"""{"sagaId":"{{{id}}}","correlationId":"a\u0000b","input":{"trip":"x"}}""", HttpStatusCode.BadRequest, "correlationId"),
            ($$$"""{"sagaId":"{{{id}}}","correlationId":7,"input":{"trip":"x"}}""", HttpStatusCode.BadRequest, "correlationId"),
            ("""{"sagaId":""", HttpStatusCode.BadRequest, "$"),
            ("[]", HttpStatusCode.BadRequest, "$"),
        };
        foreach (var (body, status, field) in cases)
            await Problem.AssertAsync(await http.PostRawAsync("/api/sagas/http-trip", body), status, field);
        await Problem.AssertAsync(await http.PostRawAsync("/api/sagas/http-trip", """{"input":{"trip":"x"}}""", "text/plain"),
            HttpStatusCode.UnsupportedMediaType, "Content-Type");
        await Problem.AssertAsync(await http.PostJsonAsync("/api/sagas/no-such-saga", new { input = new { trip = "x" }, sagaId = id }),
            HttpStatusCode.NotFound, "name");

        await Problem.AssertAsync(await http.GetAsync("/api/sagas/a%20b"), HttpStatusCode.BadRequest, "id");
        await Problem.AssertAsync(await http.GetAsync($"/api/sagas/{id}"), HttpStatusCode.NotFound, "id");
        Assert.Null(await SagaOrchestrator.Get(host.System).GetStatusAsync(id));
    }
}

public sealed class SqliteSagaHttpSpec : SagaHttpSpec
{
    protected override TestStore NewStore() => TestStore.NewSqlite();
}

public sealed class PostgreSqlSagaHttpSpec : SagaHttpSpec
{
    protected override TestStore NewStore() => TestStore.PostgreSql();
}

/// <summary><c>POST /api/requests/{subject}</c> (request-reply through the bus, no storage involved) and a node that
/// runs no sagas.</summary>
public sealed class RequestReplyHttpSpec
{
    private static string NewSubject() => $"http.rr{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task A_request_gets_its_reply_a_failing_handler_502_and_no_handler_504()
    {
        await using var host = await ServiceHost.StartAsync(TestStore.NewSqlite());
        using var http = host.Client(ServiceHost.ReadKey);
        var subject = NewSubject();
        await using var handler = await MessageBus.Get(host.System).HandleRequestsAsync<Open, Opened>(subject, (open, _) =>
            open.Owner == "boom" ? throw new InvalidOperationException("no owner called boom") : Task.FromResult(new Opened(open.Owner.ToUpperInvariant())));

        JsonElement reply = default;
        await TestWait.UntilAsync(async () =>
        {
            var response = await http.PostJsonAsync($"/api/requests/{subject}", new { type = "ledger.open", payload = new { owner = "ada" }, timeoutMs = 5000 });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            reply = await Json.ReadAsync(response);
        }, TimeSpan.FromSeconds(30));
        Assert.Equal("ledger.opened.v1", reply.GetProperty("type").GetString());
        Assert.Equal("ADA", reply.GetProperty("payload").GetProperty("owner").GetString());

        var failed = await Problem.AssertAsync(await http.PostJsonAsync($"/api/requests/{subject}",
            new { type = "ledger.open", payload = new { owner = "boom" } }), HttpStatusCode.BadGateway);
        Assert.Contains("no owner called boom", failed.GetProperty("detail").GetString());
        Assert.Equal(subject, failed.GetProperty("details").GetProperty("subject").GetString());

        var silent = NewSubject();
        var timedOut = await Problem.AssertAsync(await http.PostJsonAsync($"/api/requests/{silent}",
            new { type = "ledger.open", payload = new { owner = "ada" }, timeoutMs = 300 }), HttpStatusCode.GatewayTimeout);
        Assert.Contains(silent, timedOut.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Bad_requests_are_400_problems_naming_the_field()
    {
        await using var host = await ServiceHost.StartAsync(TestStore.NewSqlite());
        using var http = host.Client(ServiceHost.ReadKey);
        var subject = NewSubject();
        var handled = 0;
        await using var handler = await MessageBus.Get(host.System).HandleRequestsAsync<Open, Opened>(subject, (open, _) =>
        {
            Interlocked.Increment(ref handled);
            return Task.FromResult(new Opened(open.Owner));
        });
        string Body(string timeout) => $$"""{"type":"ledger.open","payload":{"owner":"x"},"timeoutMs":{{timeout}}}""";
        var cases = new (string Path, string Body, string Field)[]
        {
            ($"/api/requests/{subject}", Body("0"), "timeoutMs"),
            ($"/api/requests/{subject}", Body("-5"), "timeoutMs"),
            ($"/api/requests/{subject}", Body("60001"), "timeoutMs"),
            ($"/api/requests/{subject}", Body("1e12"), "timeoutMs"),
            ($"/api/requests/{subject}", Body("1.5"), "timeoutMs"),
            ($"/api/requests/{subject}", Body("\"100\""), "timeoutMs"),
            ($"/api/requests/{subject}", Body("true"), "timeoutMs"),
            ($"/api/requests/{subject}", Body("{}"), "timeoutMs"),
            ($"/api/requests/{subject}", """{"type":"ledger.nope","payload":{}}""", "type"),
            ($"/api/requests/{subject}", """{"type":"Akka.EventDriven.EventSourcing.Tests.Open","payload":{"owner":"x"}}""", "type"),
            ($"/api/requests/{subject}", """{"type":"ledger.open","payload":{"owner":5}}""", "payload"),
            ($"/api/requests/{subject}", """{"type":"ledger.open"}""", "payload"),
            ($"/api/requests/{subject}", """{"type":"ledger.open","payload":{"owner":"x","$type":"x"}}""", "payload.$type"),
            ("/api/requests/a..b", """{"type":"ledger.open","payload":{"owner":"x"}}""", "subject"),
            ("/api/requests/a*", """{"type":"ledger.open","payload":{"owner":"x"}}""", "subject"),
        };
        foreach (var (path, body, field) in cases)
            await Problem.AssertAsync(await http.PostRawAsync(path, body), HttpStatusCode.BadRequest, field);
        Assert.Equal(0, Volatile.Read(ref handled));
    }

    [Fact]
    public async Task A_node_without_sagas_answers_404_for_sagas_and_does_not_start_them()
    {
        await using var host = await ServiceHost.StartAsync(TestStore.NewSqlite());
        using var http = host.Client(ServiceHost.ReadKey);
        await Problem.AssertAsync(await http.PostJsonAsync("/api/sagas/http-trip", new { input = new { trip = "x" } }), HttpStatusCode.NotFound, "name");
        await Problem.AssertAsync(await http.GetAsync("/api/sagas/some-id"), HttpStatusCode.NotFound, "id");
        Assert.False(host.System.HasExtension<SagaOrchestrator>());
    }
}

/// <summary><c>GET /openapi/v1.json</c>: behind the read key, and describing every endpoint the library maps under
/// <c>/api</c> with its problem responses.</summary>
public sealed class OpenApiSpec
{
    /// <summary>A route's path as OpenAPI writes it (parameters without constraints or catch-all markers).</summary>
    private static string PathOf(RoutePattern pattern) =>
        "/" + string.Join("/", pattern.PathSegments.Select(s => string.Concat(s.Parts.Select(p => p switch
        {
            RoutePatternLiteralPart l => l.Content,
            RoutePatternParameterPart q => "{" + q.Name + "}",
            RoutePatternSeparatorPart sep => sep.Content,
            _ => throw new InvalidOperationException($"Unexpected route part {p}"),
        }))));

    [Fact]
    public async Task The_document_describes_every_api_endpoint_with_its_problem_responses()
    {
        await using var host = await ServiceHost.StartAsync(TestStore.NewSqlite());
        using (var anonymous = host.Client(key: null))
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/openapi/v1.json")).StatusCode);
        using var http = host.Client(ServiceHost.ReadKey);
        var response = await http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = (await Json.ReadAsync(response)).GetProperty("paths");

        var endpoints = DependencyResolver.For(host.System).Resolver.GetService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Select(e => (Endpoint: e, Path: PathOf(e.RoutePattern)))
            .Where(e => e.Path.StartsWith("/api/", StringComparison.Ordinal))
            .ToList();
        var described = endpoints.Where(e => e.Endpoint.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true }).ToList();
        // Only the catch-all 404 is left out of the document.
        Assert.All(endpoints.Except(described), e => Assert.Contains(e.Endpoint.RoutePattern.Parameters, p => p.IsCatchAll));
        Assert.Contains(described, e => e.Path == "/api/sagas/{id}");
        Assert.Contains(described, e => e.Path == "/api/requests/{subject}");
        Assert.Contains(described, e => e.Path == "/api/commands");

        var operationIds = new HashSet<string>();
        foreach (var (endpoint, path) in described)
        {
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
            Assert.True(methods is { Count: > 0 }, $"{path} maps no HTTP method");
            Assert.True(paths.TryGetProperty(path, out var item), $"The document lacks {path}");
            foreach (var method in methods)
            {
                Assert.True(item.TryGetProperty(method.ToLowerInvariant(), out var operation), $"The document lacks {method} {path}");
                var id = operation.TryGetProperty("operationId", out var operationId) ? operationId.GetString() : null;
                Assert.False(string.IsNullOrEmpty(id), $"{method} {path} has no operationId");
                Assert.True(operationIds.Add(id!), $"operationId {id} is used twice");
                Assert.True(operation.TryGetProperty("summary", out var summary) && summary.GetString() is { Length: > 0 },
                    $"{method} {path} has no summary");
                var responses = operation.GetProperty("responses");
                var problems = new List<string> { "401", "429" };
                if (method == HttpMethods.Post) problems.Add("400");
                foreach (var status in problems)
                {
                    Assert.True(responses.TryGetProperty(status, out var declared), $"{method} {path} declares no {status}");
                    Assert.True(declared.GetProperty("content").TryGetProperty("application/problem+json", out _),
                        $"{method} {path}: {status} is not a problem document");
                }
            }
        }
        var requests = paths.GetProperty("/api/requests/{subject}").GetProperty("post").GetProperty("responses");
        Assert.True(requests.TryGetProperty("502", out _));
        Assert.True(requests.TryGetProperty("504", out _));
        Assert.True(paths.GetProperty("/api/sagas/{name}").GetProperty("post").GetProperty("responses").TryGetProperty("404", out _));
    }
}
