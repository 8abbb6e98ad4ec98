using System.Net;
using System.Text.Json;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.Http.Internal;
using Akka.EventDriven.Sagas;

namespace Akka.EventDriven.Http.Tests;

/// <summary>A server-sent event as read off the wire.</summary>
public sealed record SseFrame(string Event, JsonElement Data);

/// <summary>Reads <c>text/event-stream</c> frames from a response body.</summary>
public sealed class SseReader(Stream body) : IDisposable
{
    private readonly StreamReader _reader = new(body);

    public async Task<SseFrame> NextAsync(CancellationToken ct)
    {
        string name = "message", data = "";
        while (true)
        {
            var line = await _reader.ReadLineAsync(ct) ?? throw new EndOfStreamException("The live feed ended.");
            if (line.Length == 0)
            {
                if (data.Length > 0) return new SseFrame(name, JsonDocument.Parse(data).RootElement.Clone());
                name = "message";
                continue;
            }
            if (line.StartsWith("event:", StringComparison.Ordinal)) name = line[6..].Trim();
            else if (line.StartsWith("data:", StringComparison.Ordinal)) data += line[5..].Trim();
        }
    }

    /// <summary>Reads frames until one satisfies <paramref name="match"/>.</summary>
    public async Task<SseFrame> UntilAsync(Func<SseFrame, bool> match, CancellationToken ct)
    {
        while (true)
        {
            var frame = await NextAsync(ct);
            if (match(frame)) return frame;
        }
    }

    public void Dispose() => _reader.Dispose();
}

/// <summary>The console's feed and trace: <c>GET /api/live</c> and <c>GET /api/trace/{correlationId}</c> on a real
/// Kestrel, with the console index projection running.</summary>
public abstract class ConsoleFeedSpec
{
    protected abstract Task<TestStore> NewStoreAsync();

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..30];

    private async Task<ServiceHost> StartAsync()
    {
        var host = await ServiceHost.StartAsync(await NewStoreAsync(), akka: b => b.WithConsoleIndex());
        await SagaOrchestrator.Get(host.System).Register(TripSaga.Definition).StartAsync();
        return host;
    }

    [Fact]
    public async Task Live_feed_sends_a_snapshot_every_second_and_new_events_of_the_requested_tag()
    {
        await using var host = await StartAsync();
        using var http = host.Client(ServiceHost.ReadKey);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var response = await http.GetAsync("/api/live?tags=Ledger&recent=0", HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var feed = new SseReader(await response.Content.ReadAsStreamAsync(deadline.Token));

        var hello = await feed.NextAsync(deadline.Token);
        Assert.Equal("hello", hello.Event);
        Assert.Equal("Ledger", hello.Data.GetProperty("tags")[0].GetString());
        var first = await feed.UntilAsync(f => f.Event == "snapshot", deadline.Token);
        Assert.Equal(1, first.Data.GetProperty("cluster").GetProperty("up").GetInt32());
        var published = first.Data.GetProperty("bus").GetProperty("published").GetInt64();
        Assert.Contains(first.Data.GetProperty("projections").EnumerateArray(),
            p => p.GetProperty("name").GetString() == ConsoleIndex.ProjectionName);

        // Traffic: a command (an event tagged Ledger) and a publish (the bus counter moves).
        var id = NewId("live");
        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync("/api/commands",
            new { type = "ledger.open", aggregateId = id, payload = new { owner = "ada" } })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostJsonAsync("/api/topics/live.demo",
            new { type = "ledger.deposit", payload = new { amount = 1 } })).StatusCode);

        var sawEvent = false;
        var sawCounter = false;
        var snapshots = 1;
        var firstAt = first.Data.GetProperty("at").GetDateTimeOffset();
        DateTimeOffset lastAt = firstAt;
        while (!(sawEvent && sawCounter))
        {
            var frame = await feed.NextAsync(deadline.Token);
            if (frame.Event == "event")
            {
                Assert.Equal("Ledger", frame.Data.GetProperty("tag").GetString());
                if (frame.Data.GetProperty("persistenceId").GetString() == $"Ledger-{id}")
                {
                    Assert.Equal("ledger.opened.v1", frame.Data.GetProperty("type").GetString());
                    Assert.Equal("ada", frame.Data.GetProperty("data").GetProperty("owner").GetString());
                    sawEvent = true;
                }
            }
            else if (frame.Event == "snapshot")
            {
                snapshots++;
                lastAt = frame.Data.GetProperty("at").GetDateTimeOffset();
                if (frame.Data.GetProperty("bus").GetProperty("published").GetInt64() > published) sawCounter = true;
            }
        }
        // Snapshots keep coming, each taken later than the one before (about one a second; speed is not asserted).
        Assert.True(snapshots >= 2 && lastAt > firstAt, $"{snapshots} snapshots, first {firstAt:O}, last {lastAt:O}");
    }

    [Fact]
    public async Task Live_feeds_beyond_the_nodes_limit_are_refused_with_503_until_one_closes()
    {
        // A feed stays open, so the request rate limit alone would let one client hold thousands of them.
        await using var host = await ServiceHost.StartAsync(await NewStoreAsync(), http: o => o.MaxLiveStreams = 2,
            akka: b => b.WithConsoleIndex());
        using var http = host.Client(ServiceHost.ReadKey);
        using var first = await http.GetAsync("/api/live?recent=0", HttpCompletionOption.ResponseHeadersRead);
        using var second = await http.GetAsync("/api/live?recent=0", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);

        using var third = await http.GetAsync("/api/live?recent=0", HttpCompletionOption.ResponseHeadersRead);
        await Problem.AssertAsync(third, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(third.Headers.RetryAfter);

        first.Dispose(); // the client goes away: its slot is free once the server sees it
        await TestWait.UntilAsync(async () =>
        {
            using var again = await http.GetAsync("/api/live?recent=0", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        });
    }

    [Fact]
    public async Task Live_feed_needs_a_key_and_refuses_bad_tags_with_a_problem()
    {
        await using var host = await StartAsync();
        using var anonymous = host.Client(key: null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/live", HttpCompletionOption.ResponseHeadersRead)).StatusCode);
        using var http = host.Client(ServiceHost.ReadKey);
        var tooMany = string.Join(",", Enumerable.Range(0, 11).Select(i => "t" + i));
        await Problem.AssertAsync(await http.GetAsync($"/api/live?tags={tooMany}"), HttpStatusCode.BadRequest, "tags");
        await Problem.AssertAsync(await http.GetAsync("/api/live?recent=101"), HttpStatusCode.BadRequest, "recent");
        await Problem.AssertAsync(await http.GetAsync($"/api/trace/{new string('x', 201)}"), HttpStatusCode.BadRequest, "correlationId");

        var who = await Json.ReadAsync(await http.GetAsync("/api/whoami"));
        Assert.Equal("Read", who.GetProperty("role").GetString());
        Assert.True(who.GetProperty("keyRequired").GetBoolean());
        using var admin = host.Client(ServiceHost.AdminKey);
        Assert.Equal("Admin", (await Json.ReadAsync(await admin.GetAsync("/api/whoami"))).GetProperty("role").GetString());
    }

    [Fact]
    public async Task Trace_lists_events_of_two_aggregates_a_bus_message_and_a_saga_carrying_one_correlation_id_in_time_order()
    {
        await using var host = await StartAsync();
        using var http = host.Client(ServiceHost.ReadKey);
        var correlation = NewId("case");
        var (a, b) = (NewId("acc"), NewId("acc"));
        foreach (var account in new[] { a, b })
            Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync("/api/commands",
                new { type = "ledger.open", aggregateId = account, correlationId = correlation, payload = new { owner = "ada" } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync("/api/commands",
            new { type = "ledger.deposit", aggregateId = a, correlationId = correlation, payload = new { amount = 5 } })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostJsonAsync("/api/topics/trace.demo",
            new { type = "ledger.deposit", persistent = true, correlationId = correlation, payload = new { amount = 2 } })).StatusCode);
        var started = await http.PostJsonAsync("/api/sagas/http-trip", new { input = new { trip = "lisbon" }, correlationId = correlation });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var sagaId = (await Json.ReadAsync(started)).GetProperty("sagaId").GetString()!;
        // Another case's events never show up.
        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync("/api/commands",
            new { type = "ledger.open", aggregateId = NewId("acc"), correlationId = NewId("other"), payload = new { owner = "bob" } })).StatusCode);

        JsonElement trace = default;
        await Testing.UntilAsync(async () =>
        {
            trace = await Json.ReadAsync(await http.GetAsync($"/api/trace/{correlation}"));
            Assert.True(trace.GetProperty("indexed").GetBoolean());
            var items = trace.GetProperty("items").EnumerateArray().ToList();
            // The saga's last event (completed) is indexed under the saga id, which its start ties to the case.
            Assert.Contains(items, i => i.GetProperty("kind").GetString() == "saga" && i.GetProperty("type").GetString()!.Contains("completed"));
            Assert.Contains(items, i => i.GetProperty("kind").GetString() == "bus");
            Assert.Equal(3, items.Count(i => i.GetProperty("kind").GetString() == "event"));
        }, TimeSpan.FromSeconds(60));

        var all = trace.GetProperty("items").EnumerateArray().ToList();
        var events = all.Where(i => i.GetProperty("kind").GetString() == "event").ToList();
        Assert.Equal(new[] { a, b }.OrderBy(x => x), events.Select(e => e.GetProperty("aggregateId").GetString()).Distinct().OrderBy(x => x));
        Assert.All(events, e => Assert.Equal(correlation, e.GetProperty("correlationId").GetString()));
        Assert.All(all.Where(i => i.GetProperty("kind").GetString() == "saga"), s => Assert.Equal(sagaId, s.GetProperty("sagaId").GetString()));
        var times = all.Select(i => i.GetProperty("timestamp").GetDateTimeOffset()).ToList();
        Assert.Equal(times.OrderBy(t => t), times);

        // Paged by journal ordering: two pages of two, then the rest, hold every item of the whole trace once. The
        // index may still add items of the case while the pages are read (the saga's and the bus message's index
        // entries land on their own schedule), so the pages are compared with the whole trace read just before and just
        // after them, once those two agree.
        await Testing.UntilAsync(async () =>
        {
            var before = await OrderingsAsync(http, correlation);
            var seen = new List<long>();
            long? after = 0;
            while (after is not null)
            {
                var page = await Json.ReadAsync(await http.GetAsync($"/api/trace/{correlation}?limit=2&after={after}"));
                var items = page.GetProperty("items").EnumerateArray().ToList();
                Assert.InRange(items.Count, 0, 2);
                seen.AddRange(items.Select(i => i.GetProperty("ordering").GetInt64()));
                after = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetInt64();
            }
            var afterwards = await OrderingsAsync(http, correlation);
            Assert.Equal(before, afterwards);
            Assert.Equal(before, seen.OrderBy(o => o));
        }, TimeSpan.FromSeconds(60));
        Assert.Superset(all.Select(i => i.GetProperty("ordering").GetInt64()).ToHashSet(),
            (await OrderingsAsync(http, correlation)).ToHashSet());

        // The saga table of the console index.
        await Testing.UntilAsync(async () =>
        {
            var sagas = await Json.ReadAsync(await http.GetAsync("/api/console/sagas?state=completed"));
            Assert.Contains(sagas.GetProperty("sagas").EnumerateArray(), s => s.GetProperty("sagaId").GetString() == sagaId
                && s.GetProperty("correlationId").GetString() == correlation && s.GetProperty("sagaName").GetString() == "http-trip");
        });
        await Problem.AssertAsync(await http.GetAsync("/api/console/sagas?state=bogus"), HttpStatusCode.BadRequest, "state");
    }

    [Fact]
    public async Task Without_the_console_index_trace_and_sagas_answer_not_indexed_instead_of_failing()
    {
        // No WithConsoleIndex: its tables are never created, and the reads say so rather than fail.
        await using var host = await ServiceHost.StartAsync(await NewStoreAsync());
        using var http = host.Client(ServiceHost.ReadKey);
        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync("/api/commands",
            new { type = "ledger.open", aggregateId = NewId("acc"), correlationId = "case-1", payload = new { owner = "ada" } })).StatusCode);
        var trace = await Json.ReadAsync(await http.GetAsync("/api/trace/case-1"));
        Assert.False(trace.GetProperty("indexed").GetBoolean());
        Assert.Empty(trace.GetProperty("items").EnumerateArray());
        var sagas = await Json.ReadAsync(await http.GetAsync("/api/console/sagas"));
        Assert.False(sagas.GetProperty("indexed").GetBoolean());
        Assert.Empty(sagas.GetProperty("sagas").EnumerateArray());
    }

    private static async Task<List<long>> OrderingsAsync(HttpClient http, string correlation) =>
        (await Json.ReadAsync(await http.GetAsync($"/api/trace/{correlation}"))).GetProperty("items").EnumerateArray()
        .Select(i => i.GetProperty("ordering").GetInt64()).OrderBy(o => o).ToList();
}

public sealed class SqliteConsoleFeedSpec : ConsoleFeedSpec
{
    protected override Task<TestStore> NewStoreAsync() => Task.FromResult(TestStore.NewSqlite());
}

/// <summary>On a private database: the console index is one projection per database, like any projection id.</summary>
public sealed class PostgreSqlConsoleFeedSpec : ConsoleFeedSpec
{
    protected override Task<TestStore> NewStoreAsync() => PrivateDatabase.CreateAsync();
}

/// <summary>The live feed's per-client buffer.</summary>
public sealed class LiveBufferSpec
{
    [Fact]
    public async Task A_full_buffer_drops_new_frames_and_counts_them_instead_of_growing()
    {
        var buffer = new LiveBuffer(3);
        for (var i = 0; i < 10; i++) buffer.Offer($"frame {i}");
        Assert.Equal(3, buffer.Count);
        Assert.Equal(7, buffer.Dropped);
        // The reader gets an unbroken prefix; once it has read, there is room again.
        Assert.Equal("frame 0", await buffer.Reader.ReadAsync());
        Assert.True(buffer.Offer("frame 10"));
        Assert.Equal(7, buffer.Dropped);
        Assert.Equal(["frame 1", "frame 2", "frame 10"], [await buffer.Reader.ReadAsync(), await buffer.Reader.ReadAsync(), await buffer.Reader.ReadAsync()]);
    }
}
