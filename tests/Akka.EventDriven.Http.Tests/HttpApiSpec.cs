using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Http.Tests;

/// <summary>The HTTP surface end to end on a real Kestrel: each endpoint's happy path, status codes by outcome,
/// API keys and roles, the rate limit, metrics and health.</summary>
public abstract class HttpApiSpec
{
    protected abstract Task<TestStore> NewStoreAsync();

    private static string NewId() => $"http-{Guid.NewGuid():N}";

    [Fact]
    public async Task Commands_answer_by_outcome_and_the_aggregate_is_readable_over_http()
    {
        await using var host = await ServiceHost.StartAsync(await NewStoreAsync());
        using var http = host.Client(ServiceHost.ReadKey);
        var id = NewId();

        var opened = await http.PostJsonAsync("/api/commands", new { type = "ledger.open", aggregateId = id, expectedVersion = 0, payload = new { owner = "ada" } });
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        var body = await Json.ReadAsync(opened);
        Assert.True(body.GetProperty("success").GetBoolean());
        Assert.Equal(1, body.GetProperty("data").GetProperty("version").GetInt64());
        Assert.Equal("ledger.opened.v1", body.GetProperty("data").GetProperty("events")[0].GetProperty("type").GetString());

        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync("/api/commands",
            new { type = "ledger.deposit", aggregateId = id, expectedVersion = 1, payload = new { amount = 10.5 } })).StatusCode);
        var conflict = await http.PostJsonAsync("/api/commands",
            new { type = "ledger.deposit", aggregateId = id, expectedVersion = 1, payload = new { amount = 1 } });
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("conflict", (await Json.ReadAsync(conflict)).GetProperty("kind").GetString());
        var rejected = await http.PostJsonAsync("/api/commands",
            new { type = "ledger.withdraw", aggregateId = id, payload = new { amount = 100 } });
        Assert.Equal(HttpStatusCode.Conflict, rejected.StatusCode);
        var rejection = await Json.ReadAsync(rejected);
        Assert.Equal("rejected", rejection.GetProperty("kind").GetString());
        Assert.Contains("Insufficient funds", rejection.GetProperty("error").GetString());
        var unrouted = await http.PostJsonAsync("/api/commands", new { type = "ledger.audit", aggregateId = id, payload = new { note = "x" } });
        Assert.Equal(HttpStatusCode.NotFound, unrouted.StatusCode);

        var state = await Json.ReadAsync(await http.GetAsync($"/api/aggregates/Ledger/{id}"));
        Assert.Equal(2, state.GetProperty("version").GetInt64());
        Assert.Equal(10.5m, state.GetProperty("state").GetProperty("balance").GetDecimal());
        var atOne = await Json.ReadAsync(await http.GetAsync($"/api/aggregates/Ledger/{id}/state?version=1"));
        Assert.Equal(0m, atOne.GetProperty("state").GetProperty("balance").GetDecimal());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/aggregates/Ledger/{id}/state?version=9")).StatusCode);

        var page = await Json.ReadAsync(await http.GetAsync($"/api/aggregates/Ledger/{id}/history?limit=1"));
        Assert.Equal(1, page.GetProperty("events").GetArrayLength());
        Assert.Equal("ledger.opened.v1", page.GetProperty("events")[0].GetProperty("type").GetString());
        Assert.Equal(2, page.GetProperty("next").GetInt64());
        var rest = await Json.ReadAsync(await http.GetAsync($"/api/aggregates/Ledger/{id}/history?from=2&limit=10"));
        Assert.Equal("ledger.deposited.v2", Assert.Single(rest.GetProperty("events").EnumerateArray()).GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, rest.GetProperty("next").ValueKind);
    }

    [Fact]
    public async Task A_published_message_reaches_a_subscriber_and_a_poison_one_is_replayed_from_its_dead_letter_queue()
    {
        await using var host = await ServiceHost.StartAsync(await NewStoreAsync());
        using var admin = host.Client(ServiceHost.AdminKey);
        using var reader = host.Client(ServiceHost.ReadKey);
        var bus = MessageBus.Get(host.System);
        var topic = $"http.t{Guid.NewGuid():N}"[..20];
        var queue = $"http.q{Guid.NewGuid():N}"[..20];
        var dlq = $"dlq-{Guid.NewGuid():N}"[..20];

        var received = new TaskCompletionSource<Opened>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var sub = await bus.SubscribeAsync<Opened>(topic, (m, _) => { received.TrySetResult(m.Payload); return Task.CompletedTask; });
        await Testing.UntilAsync(async () =>
        {
            Assert.Equal(HttpStatusCode.Accepted, (await reader.PostJsonAsync($"/api/topics/{topic}", new { type = "ledger.opened", payload = new { owner = "bo" } })).StatusCode);
            Assert.True(received.Task.IsCompleted);
        });
        Assert.Equal("bo", (await received.Task).Owner);

        // A consumer that fails until "fixed": the message ends in its dead-letter queue after its retries.
        var fixedNow = false;
        var handled = new TaskCompletionSource<Opened>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var consumer = await bus.ConsumeAsync<Opened>(queue, (m, _) =>
        {
            if (!Volatile.Read(ref fixedNow)) throw new InvalidOperationException("poison");
            handled.TrySetResult(m.Payload);
            return Task.CompletedTask;
        }, new SubscriptionOptions { MaxRetries = 1, RetryBackoff = TimeSpan.FromMilliseconds(10), DeadLetterQueue = dlq });
        Assert.Equal(HttpStatusCode.Accepted, (await reader.PostJsonAsync($"/api/queues/{queue}", new { type = "ledger.opened", payload = new { owner = "eve" } })).StatusCode);

        JsonElement letters = default;
        await Testing.UntilAsync(async () =>
        {
            letters = await Json.ReadAsync(await reader.GetAsync($"/api/dead-letters/{dlq}"));
            Assert.Equal(1, letters.GetProperty("count").GetInt64());
            Assert.Equal(1, letters.GetProperty("letters").GetArrayLength()); // count and list are two reads
        }, TimeSpan.FromSeconds(30));
        var letter = letters.GetProperty("letters")[0];
        Assert.Contains("poison", letter.GetProperty("reason").GetString());
        Assert.Equal("eve", letter.GetProperty("payload").GetProperty("owner").GetString());
        var letterId = letter.GetProperty("id").GetInt64();

        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsync($"/api/dead-letters/{dlq}/{letterId}/replay", null)).StatusCode);
        Volatile.Write(ref fixedNow, true);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/dead-letters/{dlq}/{letterId}/replay", null)).StatusCode);
        Assert.Equal("eve", (await handled.Task.WaitAsync(TimeSpan.FromSeconds(30))).Owner);
        Assert.Equal(0, (await Json.ReadAsync(await reader.GetAsync($"/api/dead-letters/{dlq}"))).GetProperty("count").GetInt64());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync($"/api/dead-letters/{dlq}/{letterId}/replay", null)).StatusCode);
        Assert.Equal(0, (await Json.ReadAsync(await admin.DeleteAsync($"/api/dead-letters/{dlq}"))).GetProperty("purged").GetInt32());
    }

    [Fact]
    public async Task Api_keys_are_required_and_roles_are_enforced_and_nothing_happens_for_a_refused_request()
    {
        await using var host = await ServiceHost.StartAsync(await NewStoreAsync());
        var id = NewId();
        var command = new { type = "ledger.open", aggregateId = id, payload = new { owner = "x" } };

        using (var none = host.Client(key: null))
        {
            var refused = await none.PostJsonAsync("/api/commands", command);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Equal(HttpStatusCode.Unauthorized, (await none.GetAsync("/metrics")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await none.GetAsync("/health/live")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await none.GetAsync("/health/ready")).StatusCode);
        }
        using (var wrong = host.Client("not-a-key-0123456789"))
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.PostJsonAsync("/api/commands", command)).StatusCode);
        using (var reader = host.Client(ServiceHost.ReadKey))
        {
            Assert.Equal(0, (await Json.ReadAsync(await reader.GetAsync($"/api/aggregates/Ledger/{id}"))).GetProperty("version").GetInt64());
            Assert.Equal(HttpStatusCode.Forbidden, (await reader.DeleteAsync("/api/dead-letters/dead-letters")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsync("/api/dead-letters/dead-letters/replay-all", null)).StatusCode);
        }
        using var admin = host.Client(ServiceHost.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/dead-letters/dead-letters/replay-all", null)).StatusCode);
    }

    [Fact]
    public async Task A_command_retried_with_the_same_Idempotency_Key_gets_the_first_answer_and_takes_effect_once()
    {
        await using var host = await ServiceHost.StartAsync(await NewStoreAsync());
        using var http = host.Client(ServiceHost.ReadKey);
        var id = NewId();
        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync("/api/commands", new { type = "ledger.open", aggregateId = id, payload = new { owner = "ada" } })).StatusCode);

        async Task<HttpResponseMessage> DepositAsync(string? key, decimal amount)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/commands")
            {
                Content = JsonContent.Create(new { type = "ledger.deposit", aggregateId = id, payload = new { amount } }),
            };
            if (key is not null) request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
            return await http.SendAsync(request);
        }
        var first = await Json.ReadAsync(await DepositAsync("pay-7f3a", 10m));
        var retried = await Json.ReadAsync(await DepositAsync("pay-7f3a", 10m));
        Assert.Equal(2, first.GetProperty("data").GetProperty("version").GetInt64());
        Assert.Equal(first.GetProperty("data").GetRawText(), retried.GetProperty("data").GetRawText());
        Assert.Equal(3, (await Json.ReadAsync(await DepositAsync("pay-8b21", 10m))).GetProperty("data").GetProperty("version").GetInt64());
        var state = await Json.ReadAsync(await http.GetAsync($"/api/aggregates/Ledger/{id}"));
        Assert.Equal(20m, state.GetProperty("state").GetProperty("balance").GetDecimal());

        var bad = await DepositAsync(new string('k', 256), 1m);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("Idempotency-Key", await bad.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Starting_outside_development_with_no_key_fails_with_a_clear_message_and_development_needs_none()
    {
        var store = await NewStoreAsync();
        var failure = await Assert.ThrowsAnyAsync<InvalidOperationException>(() =>
            ServiceHost.StartAsync(store, http: o => o.ApiKeys.Clear()));
        Assert.Contains("EVENTDRIVEN_API_KEYS", failure.Message);

        await using var dev = await ServiceHost.StartAsync(store, environment: "Development", http: o => o.ApiKeys.Clear());
        using var anonymous = dev.Client(key: null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/cluster")).StatusCode);
    }

    [Fact]
    public async Task A_key_over_its_rate_gets_429_with_retry_after()
    {
        await using var host = await ServiceHost.StartAsync(await NewStoreAsync(), http: o => o.RequestsPerSecond = 3);
        using var http = host.Client(ServiceHost.ReadKey);
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 50 && limited is null; i++)
        {
            var response = await http.GetAsync("/api/topics");
            if (response.StatusCode == HttpStatusCode.TooManyRequests) limited = response;
            else Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.NotNull(limited);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        using var other = host.Client(ServiceHost.AdminKey); // another key has its own budget
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/api/topics")).StatusCode);
    }

    [Fact]
    public async Task Metrics_export_the_command_series_after_traffic_and_the_cluster_lists_this_node()
    {
        await using var host = await ServiceHost.StartAsync(await NewStoreAsync());
        using var http = host.Client(ServiceHost.ReadKey);
        var id = NewId();
        await http.PostJsonAsync("/api/commands", new { type = "ledger.open", aggregateId = id, payload = new { owner = "m" } });
        await http.PostJsonAsync("/api/commands", new { type = "ledger.withdraw", aggregateId = id, payload = new { amount = 5 } });

        await Testing.UntilAsync(async () =>
        {
            var text = await http.GetStringAsync("/metrics");
            Assert.Contains("akka_eventdriven_commands", text);
            Assert.Contains("outcome=\"accepted\"", text);
            Assert.Contains("outcome=\"rejected\"", text);
            Assert.Contains("akka_eventdriven_command_duration", text);
        });
        var cluster = await Json.ReadAsync(await http.GetAsync("/api/cluster"));
        var member = Assert.Single(cluster.GetProperty("members").EnumerateArray());
        Assert.Equal("Up", member.GetProperty("status").GetString());
        Assert.Equal(cluster.GetProperty("self").GetString(), cluster.GetProperty("leader").GetString());
    }
}

public sealed class SqliteHttpApiSpec : HttpApiSpec
{
    protected override Task<TestStore> NewStoreAsync() => Task.FromResult(TestStore.NewSqlite());
}

public sealed class PostgreSqlHttpApiSpec : HttpApiSpec
{
    protected override Task<TestStore> NewStoreAsync() => Task.FromResult(TestStore.PostgreSql());
}

/// <summary>Polling with a deadline (no fixed sleeps).</summary>
public static class Testing
{
    public static Task UntilAsync(Func<Task> assertion, TimeSpan? within = null) =>
        TestWait.UntilAsync(assertion, within ?? TimeSpan.FromSeconds(20));
}
