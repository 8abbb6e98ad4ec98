using System.Net;
using System.Text.Json;
using Akka.EventDriven.Cqrs;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.Projections;
using Akka.EventDriven.Streaming;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.Http.Tests;

/// <summary><c>POST /api/queries</c>, <c>GET /api/topics</c>, <c>/api/queues</c>, <c>/api/pipelines</c> and the
/// module meters on <c>/metrics</c>, with real traffic on a real Kestrel.</summary>
public abstract class ObservabilitySpec
{
    protected abstract TestStore NewStore();

    private static string NewId() => $"obs-{Guid.NewGuid():N}";

    private static string NewName(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..20];

    private static async Task<JsonElement> QueryAsync(HttpClient http, string ledgerId)
    {
        var response = await http.PostJsonAsync("/api/queries", new { type = "ledger.balance", payload = new { ledgerId } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await Json.ReadAsync(response);
    }

    [Fact]
    public async Task A_query_is_answered_through_the_query_bus_and_says_when_it_came_from_the_cache()
    {
        await using var host = await ServiceHost.StartAsync(NewStore());
        using var http = host.Client(ServiceHost.ReadKey);
        var id = NewId();
        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync("/api/commands",
            new { type = "ledger.open", aggregateId = id, payload = new { owner = "q" } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync("/api/commands",
            new { type = "ledger.deposit", aggregateId = id, payload = new { amount = 10 } })).StatusCode);

        var first = await QueryAsync(http, id);
        Assert.False(first.GetProperty("cached").GetBoolean());
        Assert.Equal(10m, first.GetProperty("result").GetProperty("balance").GetDecimal());
        Assert.Equal(id, first.GetProperty("result").GetProperty("ledgerId").GetString());

        // Results are cached once the bus's journal follower runs: the same query is then served from the cache.
        await Testing.UntilAsync(async () => Assert.True((await QueryAsync(http, id)).GetProperty("cached").GetBoolean()),
            TimeSpan.FromSeconds(30));

        // A new event of that ledger invalidates the cached result.
        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync("/api/commands",
            new { type = "ledger.deposit", aggregateId = id, payload = new { amount = 5 } })).StatusCode);
        await Testing.UntilAsync(async () =>
            Assert.Equal(15m, (await QueryAsync(http, id)).GetProperty("result").GetProperty("balance").GetDecimal()), TimeSpan.FromSeconds(30));

        var noHandler = await http.PostJsonAsync("/api/queries", new { type = "ledger.open", payload = new { owner = "x" } });
        Assert.Equal("type", (await Problem.AssertAsync(noHandler, HttpStatusCode.NotFound, "type")).GetProperty("field").GetString());
        await Problem.AssertAsync(await http.PostJsonAsync("/api/queries", new { type = "ledger.balance", payload = new { ledgerId = 5 } }),
            HttpStatusCode.BadRequest, "payload");
    }

    private static JsonElement? Find(JsonElement list, string name) =>
        list.EnumerateArray().Cast<JsonElement?>().FirstOrDefault(e => e!.Value.GetProperty("name").GetString() == name);

    [Fact]
    public async Task Topics_and_queues_list_the_known_names_with_rates_depth_and_lag_per_group()
    {
        await using var host = await ServiceHost.StartAsync(NewStore());
        using var http = host.Client(ServiceHost.ReadKey);
        var bus = MessageBus.Get(host.System);
        var topic = NewName("obs.t");
        var durable = NewName("obs.d");
        var queue = NewName("obs.q");
        var message = new { type = "ledger.opened", payload = new { owner = "t" } };

        var received = 0;
        await using var fast = await bus.SubscribeAsync<Opened>(topic, (_, _) => { Interlocked.Increment(ref received); return Task.CompletedTask; });
        for (var i = 0; i < 20; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await http.PostJsonAsync($"/api/topics/{topic}", message)).StatusCode);

        // A durable group whose handler is held: its lag is what was journaled but not acknowledged.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var durableHandled = 0;
        await using var slow = await bus.SubscribeAsync<Opened>(durable, async (_, ct) =>
        {
            await gate.Task.WaitAsync(ct);
            Interlocked.Increment(ref durableHandled);
        }, new SubscriptionOptions { Durable = true, Group = "reporting" });
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await http.PostJsonAsync($"/api/topics/{durable}",
                new { type = "ledger.opened", persistent = true, payload = new { owner = "d" } })).StatusCode);
        for (var i = 0; i < 4; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await http.PostJsonAsync($"/api/queues/{queue}", message)).StatusCode);

        await Testing.UntilAsync(async () =>
        {
            var topics = (await Json.ReadAsync(await http.GetAsync("/api/topics"))).GetProperty("topics");
            var t = Find(topics, topic) ?? throw new Xunit.Sdk.XunitException($"{topic} not listed: {topics}");
            Assert.Equal(20, t.GetProperty("published").GetInt64());
            Assert.Equal(20, t.GetProperty("delivered").GetInt64());
            Assert.True(t.GetProperty("publishedPerSecond").GetDouble() > 0, t.ToString());
            Assert.True(t.GetProperty("deliveredPerSecond").GetDouble() > 0, t.ToString());
            Assert.Equal(1, t.GetProperty("subscriptions").GetInt32());
            var d = Find(topics, durable) ?? throw new Xunit.Sdk.XunitException($"{durable} not listed: {topics}");
            Assert.Equal(5, d.GetProperty("published").GetInt64());
            Assert.Equal(5, d.GetProperty("lag").GetProperty("reporting").GetInt64());
        }, TimeSpan.FromSeconds(30));

        // Not consumed on this node: listed with its counts, no depth known yet.
        var queues = (await Json.ReadAsync(await http.GetAsync("/api/queues"))).GetProperty("queues");
        var q = Find(queues, queue) ?? throw new Xunit.Sdk.XunitException($"{queue} not listed: {queues}");
        Assert.Equal(4, q.GetProperty("enqueued").GetInt64());
        Assert.True(q.GetProperty("enqueuedPerSecond").GetDouble() > 0);
        Assert.Equal(JsonValueKind.Null, q.GetProperty("depth").ValueKind);

        var queueGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var consumer = await bus.ConsumeAsync<Opened>(queue, (_, ct) => queueGate.Task.WaitAsync(ct));
        await Testing.UntilAsync(async () =>
        {
            var list = (await Json.ReadAsync(await http.GetAsync("/api/queues"))).GetProperty("queues");
            Assert.Equal(4, Find(list, queue)!.Value.GetProperty("depth").GetInt64());
        }, TimeSpan.FromSeconds(30));

        // Released: the lag and the depth drain to 0 and the deliveries are counted.
        gate.SetResult();
        queueGate.SetResult();
        await Testing.UntilAsync(async () =>
        {
            var topics = (await Json.ReadAsync(await http.GetAsync("/api/topics"))).GetProperty("topics");
            Assert.Equal(0, Find(topics, durable)!.Value.GetProperty("lag").GetProperty("reporting").GetInt64());
            Assert.Equal(5, Find(topics, durable)!.Value.GetProperty("delivered").GetInt64());
            var list = (await Json.ReadAsync(await http.GetAsync("/api/queues"))).GetProperty("queues");
            Assert.Equal(0, Find(list, queue)!.Value.GetProperty("depth").GetInt64());
            Assert.Equal(4, Find(list, queue)!.Value.GetProperty("delivered").GetInt64());
        }, TimeSpan.FromSeconds(60));
        Assert.Equal(20, Volatile.Read(ref received));
        Assert.Equal(5, Volatile.Read(ref durableHandled));
    }

    [Fact]
    public async Task Pipelines_list_each_running_pipeline_with_elements_rates_and_errors()
    {
        await using var host = await ServiceHost.StartAsync(NewStore());
        using var http = host.Client(ServiceHost.ReadKey);
        var name = NewName("obs-p");
        var processor = StreamingExtension.Get(host.System);
        // Endless and throttled: it runs for the whole test; every tenth element fails and is dropped (Resume).
        processor.DefinePipeline(Pipeline.Create(name)
            .From(Source.From(Enumerable.Range(1, int.MaxValue)))
            .Throttle(200, TimeSpan.FromSeconds(1), 20)
            .Select(i => i % 10 == 0 ? throw new InvalidOperationException($"bad element {i}") : i)
            .ForEach(_ => { })
            .WithSupervision(PipelineSupervision.Resume));
        await processor.StartAsync(name);

        await Testing.UntilAsync(async () =>
        {
            var pipelines = (await Json.ReadAsync(await http.GetAsync("/api/pipelines"))).GetProperty("pipelines");
            var p = Find(pipelines, name) ?? throw new Xunit.Sdk.XunitException($"{name} not listed: {pipelines}");
            Assert.Equal("Running", p.GetProperty("status").GetString());
            Assert.True(p.GetProperty("elementsIn").GetInt64() >= 50, p.ToString());
            Assert.True(p.GetProperty("elementsOut").GetInt64() < p.GetProperty("elementsIn").GetInt64(), p.ToString());
            Assert.True(p.GetProperty("errors").GetInt64() >= 1, p.ToString());
            Assert.Contains("bad element", p.GetProperty("lastError").GetString());
            Assert.True(p.GetProperty("inPerSecond").GetDouble() > 0, p.ToString());
            Assert.True(p.GetProperty("outPerSecond").GetDouble() > 0, p.ToString());
        }, TimeSpan.FromSeconds(30));

        await processor.StopAsync(name);
        var stopped = Find((await Json.ReadAsync(await http.GetAsync("/api/pipelines"))).GetProperty("pipelines"), name)!.Value;
        Assert.Equal("Stopped", stopped.GetProperty("status").GetString());
    }

    private static IEnumerable<string> Line(string text, string prefix) => text.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal));

    [Fact]
    public async Task Metrics_export_the_bus_cqrs_projection_saga_and_pipeline_series_after_traffic()
    {
        await using var host = await TripSaga.StartHostAsync(NewStore());
        using var http = host.Client(ServiceHost.ReadKey);
        var system = host.System;
        var id = NewId();
        var topic = NewName("obs.m");

        // CQRS: commands through the command bus, a query through the HTTP API.
        var repository = (AggregateRepository<LedgerState>)Aggregates.Get(system).Started[Ledger.Definition.Name];
        var commands = new CommandBus()
            .RegisterAggregate<Open, LedgerState>(repository, _ => id)
            .RegisterAggregate<Withdraw, LedgerState>(repository, _ => id);
        Assert.True((await commands.ExecuteAsync(new Open("m"))).Success);
        Assert.Equal(CommandErrorKind.Rejected, (await commands.ExecuteAsync(new Withdraw(5))).ErrorKind);
        await QueryAsync(http, id);
        // Bus: a publish over HTTP.
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostJsonAsync($"/api/topics/{topic}",
            new { type = "ledger.opened", payload = new { owner = "m" } })).StatusCode);
        // Projection: one running on this node.
        await using var projection = Projection.AtLeastOnce(system, new ProjectionId(NewName("obs-proj")), (_, _) => Task.CompletedTask);
        // Sagas: one completed, one compensated.
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostJsonAsync("/api/sagas/http-trip", new { input = new { trip = "ok" } })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostJsonAsync("/api/sagas/http-trip", new { input = new { trip = "no", failStep = 1 } })).StatusCode);
        // Pipeline: a short one that completes.
        var pipeline = NewName("obs-mp");
        var processor = StreamingExtension.Get(system);
        processor.DefinePipeline(Pipeline.Create(pipeline).From(Source.From(Enumerable.Range(1, 100))).ForEach(_ => { }));
        await processor.StartAsync(pipeline);
        await processor.WhenTerminated(pipeline);

        await Testing.UntilAsync(async () =>
        {
            var text = await http.GetStringAsync("/metrics");
            Assert.Contains("eventdriven_cqrs_commands_total{", text);
            Assert.Contains("outcome=\"accepted\"", text);
            Assert.Contains("outcome=\"rejected\"", text);
            Assert.Contains("eventdriven_cqrs_command_duration_milliseconds_bucket{", text);
            Assert.Contains("eventdriven_cqrs_queries_total{", text);
            Assert.Contains(Line(text, "eventbus_destination_published_total{"), l => l.Contains($"kind=\"topic\",name=\"{topic}\"") && l.EndsWith(" 1"));
            Assert.Contains("eventbus_messages_published_total{", text);
            Assert.Contains($"projection=\"{projection.Id}\"", text);
            Assert.Contains("akka_event_driven_projection_lag_events{", text);
            Assert.Contains("akka_event_driven_projection_lag_seconds{", text);
            Assert.Contains(Line(text, "eventdriven_saga_outcomes_total{"), l => l.Contains("outcome=\"completed\",saga=\"http-trip\"}"));
            Assert.Contains(Line(text, "eventdriven_saga_outcomes_total{"), l => l.Contains("outcome=\"compensated\",saga=\"http-trip\"}"));
            Assert.Contains(Line(text, "eventdriven_pipeline_elements_in_total{"), l => l.EndsWith($"pipeline=\"{pipeline}\"}} 100"));
        }, TimeSpan.FromSeconds(30));
    }
}

public sealed class SqliteObservabilitySpec : ObservabilitySpec
{
    protected override TestStore NewStore() => TestStore.NewSqlite();
}

public sealed class PostgreSqlObservabilitySpec : ObservabilitySpec
{
    protected override TestStore NewStore() => TestStore.PostgreSql();
}
