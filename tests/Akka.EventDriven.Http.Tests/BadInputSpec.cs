using System.Net;
using System.Text;
using System.Text.Json;
using Akka.EventDriven.EventSourcing.Tests;
using Microsoft.Data.Sqlite;

namespace Akka.EventDriven.Http.Tests;

/// <summary>Malformed and hostile requests across the endpoints: every one gets a 4xx problem document that names
/// what is wrong, none a 5xx, and nothing reaches the journal.</summary>
public sealed class BadInputSpec
{
    public sealed record Case(string Name, HttpMethod Method, string Path, string? Body, string ContentType = "application/json",
        int Status = 400);

    private static Case Post(string name, string path, string? body, int status = 400, string contentType = "application/json") =>
        new(name, HttpMethod.Post, path, body, contentType, status);

    private static Case Get(string name, string path, int status = 400) => new(name, HttpMethod.Get, path, null, Status: status);

    private static string Command(string type = "ledger.open", string id = "bad-1", string payload = """{"owner":"x"}""", string extra = "") =>
        $$"""{"type":"{{type}}","aggregateId":"{{id}}","payload":{{payload}}{{extra}}}""";

    public static IEnumerable<Case> Cases()
    {
        // Body shape
        yield return Post("empty body", "/api/commands", "");
        yield return Post("not JSON", "/api/commands", "type=ledger.open");
        yield return Post("truncated JSON", "/api/commands", """{"type":"ledger.open","aggregateId":""");
        yield return Post("JSON array", "/api/commands", "[1,2,3]");
        yield return Post("JSON string", "/api/commands", "\"open\"");
        yield return Post("JSON null", "/api/commands", "null");
        yield return Post("trailing garbage", "/api/commands", Command() + "}}");
        yield return Post("too deep", "/api/commands", Command(payload: new string('[', 100) + new string(']', 100)));
        yield return Post("wrong content type", "/api/commands", Command(), 415, "text/plain");
        yield return Post("form content type", "/api/commands", "type=x", 415, "application/x-www-form-urlencoded");
        yield return Post("too large", "/api/commands", Command(payload: $$"""{"owner":"{{new string('a', 2_000_000)}}"}"""), 413);
        // type
        yield return Post("no type", "/api/commands", """{"aggregateId":"bad-1","payload":{"owner":"x"}}""");
        yield return Post("type null", "/api/commands", """{"type":null,"aggregateId":"bad-1","payload":{}}""");
        yield return Post("type number", "/api/commands", """{"type":7,"aggregateId":"bad-1","payload":{}}""");
        yield return Post("type object", "/api/commands", """{"type":{},"aggregateId":"bad-1","payload":{}}""");
        yield return Post("type empty", "/api/commands", Command(type: ""));
        yield return Post("unknown type", "/api/commands", Command(type: "ledger.explode"));
        yield return Post("CLR type name", "/api/commands", Command(type: "Akka.EventDriven.EventSourcing.Tests.Open"));
        yield return Post("assembly-qualified name", "/api/commands", Command(type: "System.Diagnostics.Process, System"));
        yield return Post("unknown version", "/api/commands", Command(type: "ledger.open.v9"));
        yield return Post("type with NUL", "/api/commands", Command(type: "ledger.open\\u0000"));
        yield return Post("event type as command", "/api/commands", Command(type: "ledger.opened"), 404);
        yield return Post("very long type", "/api/commands", Command(type: new string('t', 5000)));
        // aggregate id
        yield return Post("no aggregate id", "/api/commands", """{"type":"ledger.open","payload":{"owner":"x"}}""");
        yield return Post("empty aggregate id", "/api/commands", Command(id: ""));
        yield return Post("aggregate id number", "/api/commands", """{"type":"ledger.open","aggregateId":5,"payload":{"owner":"x"}}""");
        yield return Post("aggregate id with space", "/api/commands", Command(id: "a b"));
        yield return Post("aggregate id with NUL", "/api/commands", Command(id: "a\\u0000b"));
        yield return Post("aggregate id with newline", "/api/commands", Command(id: "a\\nb"));
        yield return Post("aggregate id SQL quote", "/api/commands", Command(id: "x'; DROP TABLE event_journal; --"));
        yield return Post("aggregate id SQL comment", "/api/commands", Command(id: "x--"  + "/*"));
        yield return Post("aggregate id path traversal", "/api/commands", Command(id: "../../etc/passwd"));
        yield return Post("aggregate id too long", "/api/commands", Command(id: new string('a', 256)));
        yield return Post("aggregate id unicode", "/api/commands", Command(id: "ünïcödé"));
        // expectedVersion
        yield return Post("negative version", "/api/commands", Command(extra: ""","expectedVersion":-1"""));
        yield return Post("huge version", "/api/commands", Command(extra: ""","expectedVersion":99999999999999999"""));
        yield return Post("version overflow", "/api/commands", Command(extra: ""","expectedVersion":1e400"""));
        yield return Post("fractional version", "/api/commands", Command(extra: ""","expectedVersion":1.5"""));
        yield return Post("version as string", "/api/commands", Command(extra: ""","expectedVersion":"1" """));
        yield return Post("version as bool", "/api/commands", Command(extra: ""","expectedVersion":true"""));
        // payload
        yield return Post("no payload", "/api/commands", """{"type":"ledger.open","aggregateId":"bad-1"}""");
        yield return Post("payload array", "/api/commands", Command(payload: "[]"));
        yield return Post("payload string", "/api/commands", Command(payload: "\"x\""));
        yield return Post("payload missing member", "/api/commands", Command(payload: "{}"));
        yield return Post("payload null member", "/api/commands", Command(payload: """{"owner":null}"""));
        yield return Post("payload wrong member type", "/api/commands", Command(payload: """{"owner":12}"""));
        yield return Post("payload unknown member", "/api/commands", Command(payload: """{"owner":"x","admin":true}"""));
        yield return Post("payload $type", "/api/commands", Command(payload: """{"$type":"System.Diagnostics.Process","owner":"x"}"""));
        yield return Post("payload nested $type", "/api/commands", Command(type: "ledger.deposit", payload: """{"amount":{"$type":"X","v":1}}"""));
        yield return Post("payload $ref", "/api/commands", Command(payload: """{"$ref":"1","owner":"x"}"""));
        yield return Post("amount as string", "/api/commands", Command(type: "ledger.deposit", payload: """{"amount":"ten"}"""));
        yield return Post("amount overflow", "/api/commands", Command(type: "ledger.deposit", payload: """{"amount":1e400}"""));
        yield return Post("correlation id NUL", "/api/commands", Command(extra: ""","correlationId":"a\u0000" """));
        yield return Post("correlation id number", "/api/commands", Command(extra: ""","correlationId":5"""));
        yield return Post("correlation id too long", "/api/commands", Command(extra: $$""","correlationId":"{{new string('c', 2000)}}" """));
        // topics and queues
        yield return Post("topic with space", "/api/topics/a%20b", """{"type":"ledger.opened","payload":{"owner":"x"}}""");
        yield return Post("topic wildcard", "/api/topics/a.*", """{"type":"ledger.opened","payload":{"owner":"x"}}""");
        yield return Post("topic too long", "/api/topics/" + new string('t', 300), """{"type":"ledger.opened","payload":{"owner":"x"}}""");
        yield return Post("topic unknown type", "/api/topics/alerts", """{"type":"nope","payload":{}}""");
        yield return Post("topic no payload", "/api/topics/alerts", """{"type":"ledger.opened"}""");
        yield return Post("topic persistent as string", "/api/topics/alerts", """{"type":"ledger.opened","persistent":"yes","payload":{"owner":"x"}}""");
        yield return Post("topic partition key NUL", "/api/topics/alerts", """{"type":"ledger.opened","partitionKey":"\u0000","payload":{"owner":"x"}}""");
        yield return Post("queue SQL name", "/api/queues/q';drop", """{"type":"ledger.opened","payload":{"owner":"x"}}""");
        yield return Post("queue payload $type", "/api/queues/work", """{"type":"ledger.opened","payload":{"owner":"x","$type":"y"}}""");
        // queries
        yield return Post("query not JSON", "/api/queries", "{type:ledger.balance}");
        yield return Post("query no type", "/api/queries", """{"payload":{"ledgerId":"a"}}""");
        yield return Post("query unknown type", "/api/queries", """{"type":"ledger.nothing","payload":{}}""");
        yield return Post("query CLR type name", "/api/queries", """{"type":"Akka.EventDriven.Http.Tests.GetBalance","payload":{"ledgerId":"a"}}""");
        yield return Post("query without handler", "/api/queries", """{"type":"ledger.open","payload":{"owner":"x"}}""", 404);
        yield return Post("query no payload", "/api/queries", """{"type":"ledger.balance"}""");
        yield return Post("query payload array", "/api/queries", """{"type":"ledger.balance","payload":[]}""");
        yield return Post("query payload missing member", "/api/queries", """{"type":"ledger.balance","payload":{}}""");
        yield return Post("query payload wrong member type", "/api/queries", """{"type":"ledger.balance","payload":{"ledgerId":5}}""");
        yield return Post("query payload unknown member", "/api/queries", """{"type":"ledger.balance","payload":{"ledgerId":"a","all":true}}""");
        yield return Post("query payload $type", "/api/queries", """{"type":"ledger.balance","payload":{"$type":"System.IO.File","ledgerId":"a"}}""");
        yield return Post("query wrong content type", "/api/queries", """{"type":"ledger.balance","payload":{"ledgerId":"a"}}""", 415, "text/plain");
        // projections
        yield return Get("projection name with quote", "/api/projections/a'b/all");
        yield return Get("projection key with space", "/api/projections/a/b%20c");
        // reads
        yield return Get("unknown aggregate type", "/api/aggregates/Nope/x", 404);
        yield return Get("aggregate id with quote", "/api/aggregates/Ledger/x'y");
        yield return Get("history limit zero", "/api/aggregates/Ledger/x/history?limit=0");
        yield return Get("history limit huge", "/api/aggregates/Ledger/x/history?limit=100000");
        yield return Get("history limit text", "/api/aggregates/Ledger/x/history?limit=ten");
        yield return Get("history negative from", "/api/aggregates/Ledger/x/history?from=-5");
        yield return Get("state without version", "/api/aggregates/Ledger/x/state");
        yield return Get("state negative version", "/api/aggregates/Ledger/x/state?version=-1");
        yield return Get("dead letters bad queue", "/api/dead-letters/a%20b");
        yield return Get("dead letters bad limit", "/api/dead-letters/dead-letters?limit=-1");
        yield return Get("dead letters bad after", "/api/dead-letters/dead-letters?after=x");
        yield return Post("replay bad id", "/api/dead-letters/dead-letters/abc/replay", null);
        yield return Post("replay missing id", "/api/dead-letters/dead-letters/12345/replay", null, 404);
        yield return Get("unknown endpoint", "/api/nothing-here", 404);
    }

    [Fact]
    public async Task Every_malformed_request_gets_a_4xx_problem_and_nothing_reaches_the_journal()
    {
        var store = TestStore.NewSqlite();
        await using var host = await ServiceHost.StartAsync(store);
        using var http = host.Client(ServiceHost.AdminKey);
        var cases = Cases().ToList();
        Assert.True(cases.Count >= 60, $"only {cases.Count} cases");

        var wrong = new List<string>();
        foreach (var c in cases)
        {
            using var request = new HttpRequestMessage(c.Method, c.Path);
            if (c.Body is not null) request.Content = new StringContent(c.Body, Encoding.UTF8, c.ContentType);
            using var response = await http.SendAsync(request);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            if (status != c.Status) { wrong.Add($"{c.Name}: {status} (expected {c.Status}) {text[..Math.Min(200, text.Length)]}"); continue; }
            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") { wrong.Add($"{c.Name}: not a problem document"); continue; }
            using var problem = JsonDocument.Parse(text);
            if (!problem.RootElement.TryGetProperty("detail", out var detail) || string.IsNullOrWhiteSpace(detail.GetString()))
                wrong.Add($"{c.Name}: the problem says nothing");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));

        // Nothing was stored: the journal of this fresh store has no event at all (the table may not even exist).
        await using var db = new SqliteConnection(store.ConnectionString);
        await db.OpenAsync();
        await using var command = db.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'event_journal'";
        if ((long)(await command.ExecuteScalarAsync())! == 1)
        {
            command.CommandText = "SELECT count(*) FROM event_journal";
            Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
        }
        // And the service still works.
        var ok = await http.PostAsync("/api/commands", new StringContent(
            """{"type":"ledger.open","aggregateId":"good-1","payload":{"owner":"x"}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }
}
