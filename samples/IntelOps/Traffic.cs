using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.RateLimiting;

namespace IntelOps;

/// <summary>What the generator was told about one investigation (from the API's answers): the client-side ledger the
/// checks compare with the aggregates, the read model and the pipelines.</summary>
public sealed class InvestigationLedger(string id, string analyst)
{
    public string Id { get; } = id;
    public string Analyst { get; } = analyst;
    public long Version { get; set; }
    public bool Closed { get; set; }
    public int Findings { get; set; }
    public int SevereFindings { get; set; }
    public HashSet<string> Entities { get; } = [];
}

/// <summary>Totals of the run, updated by the generator's workers.</summary>
public sealed class TrafficCounters
{
    public long Calls, CommandsAccepted, CommandsRejected, AlertsPublished, EnrichQueued, PoisonQueued, SagasStarted, Reads, Errors;
    public string? LastError;
}

/// <summary>
/// Synthetic intelligence traffic through the public HTTP API, at a bounded rate: investigations opened, findings added
/// (a few invalid, rejected), entities linked, cases closed; alerts on a durable bus topic; enrichment requests on a queue
/// (one in ten poison, ending in the dead-letter queue); entity-enrichment sagas (clean, flaky, failing for good, timing
/// out). Each worker owns its investigations, so commands to one aggregate never race and the ledger is exact.
/// </summary>
public sealed class TrafficGenerator(Uri api, string runId, int rate, long? maxCalls, int workers = 8)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = workers }) { BaseAddress = api, Timeout = TimeSpan.FromSeconds(30) };
    private long _budget = maxCalls ?? long.MaxValue;

    /// <summary>This run's id: every investigation and entity id of the run contains it.</summary>
    public string RunId => runId;

    public TrafficCounters Counters { get; } = new();
    public ConcurrentDictionary<string, InvestigationLedger> Investigations { get; } = new();
    /// <summary>Saga id → the kind of entity it enriches (clean, flaky, locked, slow).</summary>
    public ConcurrentDictionary<string, string> Sagas { get; } = new();
    public ConcurrentDictionary<string, bool> EnrichRequests { get; } = new();
    public ConcurrentDictionary<string, bool> Alerts { get; } = new();

    /// <summary>Runs until <paramref name="stop"/> is cancelled or the call budget is spent.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        using var limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, rate / 10), TokensPerPeriod = Math.Max(1, rate / 10),
            ReplenishmentPeriod = TimeSpan.FromMilliseconds(100), QueueLimit = workers * 2,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst, AutoReplenishment = true,
        });
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => WorkerAsync(w, limiter, stop)));
    }

    private async Task WorkerAsync(int worker, RateLimiter limiter, CancellationToken stop)
    {
        var random = new Random(HashCode.Combine(runId, worker));
        var active = new List<InvestigationLedger>();
        var opened = 0;
        while (!stop.IsCancellationRequested && Interlocked.Decrement(ref _budget) >= 0)
        {
            try
            {
                using var lease = await limiter.AcquireAsync(1, stop);
                if (!lease.IsAcquired) continue;
            }
            catch (OperationCanceledException) { break; }
            Interlocked.Increment(ref Counters.Calls);
            try
            {
                var roll = random.Next(100);
                if (active.Count < 3 || roll < 12) await StartAsync(worker, ++opened, random, active);
                else if (roll < 45) await AddFindingAsync(active[random.Next(active.Count)], random);
                else if (roll < 55) await LinkAsync(active[random.Next(active.Count)], random);
                else if (roll < 62) await CloseAsync(active, random);
                else if (roll < 78) await AlertAsync(random);
                else if (roll < 88) await EnrichAsync(random);
                else if (roll < 94) await SagaAsync(random);
                else await ReadAsync(active[random.Next(active.Count)]);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
            {
                Interlocked.Increment(ref Counters.Errors);
                Counters.LastError = e.GetBaseException().Message;
            }
        }
    }

    private async Task StartAsync(int worker, int n, Random random, List<InvestigationLedger> active)
    {
        var ledger = new InvestigationLedger($"inv-{runId}-{worker}-{n:D5}", $"analyst-{random.Next(7)}");
        var version = await CommandAsync("investigation.start", ledger.Id, new { title = $"APT campaign {worker}/{n}", analyst = ledger.Analyst });
        if (version is null) return;
        ledger.Version = version.Value;
        Investigations[ledger.Id] = ledger;
        active.Add(ledger);
    }

    private async Task AddFindingAsync(InvestigationLedger ledger, Random random)
    {
        var invalid = random.Next(20) == 0;
        var severity = invalid ? 42 : random.Next(1, 11);
        var version = await CommandAsync("investigation.add-finding", ledger.Id, new { summary = $"indicator {ledger.Findings + 1}", severity });
        if (version is null) return;
        ledger.Version = version.Value;
        ledger.Findings++;
        if (severity >= 7) ledger.SevereFindings++;
    }

    private async Task LinkAsync(InvestigationLedger ledger, Random random)
    {
        var entity = $"entity-{random.Next(13)}";
        var version = await CommandAsync("investigation.link-entity", ledger.Id, new { entityId = entity });
        if (version is null) return;
        ledger.Version = version.Value; // linking twice is accepted with no event: the version stays
        ledger.Entities.Add(entity);
    }

    private async Task CloseAsync(List<InvestigationLedger> active, Random random)
    {
        var ledger = active[random.Next(active.Count)];
        var version = await CommandAsync("investigation.close", ledger.Id, new { conclusion = "attributed" });
        if (version is null) return;
        ledger.Version = version.Value;
        ledger.Closed = true;
        active.Remove(ledger);
    }

    private async Task AlertAsync(Random random)
    {
        using var response = await _http.PostAsJsonAsync($"/api/topics/{LiveSystem.AlertsTopic}", new
        {
            type = "intelops.alert",
            payload = new { sensor = $"sensor-{random.Next(5)}", indicator = $"198.51.100.{random.Next(256)}", severity = random.Next(1, 11) },
            persistent = true,
        }, Json);
        var body = await Ensure(response, HttpStatusCode.Accepted);
        Alerts[body.GetProperty("messageId").GetString()!] = true;
        Interlocked.Increment(ref Counters.AlertsPublished);
    }

    private async Task EnrichAsync(Random random)
    {
        var poison = random.Next(10) == 0;
        var entity = poison ? $"entity-poison-{runId}-{Guid.NewGuid():N}"[..40] : $"entity-{runId}-{Guid.NewGuid():N}"[..40];
        using var response = await _http.PostAsJsonAsync($"/api/queues/{LiveSystem.EnrichQueue}",
            new { type = "intelops.enrich-request", payload = new { entityId = entity } }, Json);
        await Ensure(response, HttpStatusCode.Accepted);
        EnrichRequests[entity] = poison;
        if (poison) Interlocked.Increment(ref Counters.PoisonQueued);
        else Interlocked.Increment(ref Counters.EnrichQueued);
    }

    /// <summary>The saga's entity kind decides its outcome (the stub services fail on purpose, see LiveSystem).</summary>
    public static string KindOf(string entityId) => entityId.Split('-')[1];

    private async Task SagaAsync(Random random)
    {
        var roll = random.Next(20);
        var kind = roll switch { < 14 => "clean", < 16 => "flaky", < 18 => "locked", _ => "slow" };
        var entity = $"entity-{kind}-{runId}-{Guid.NewGuid():N}"[..40];
        using var response = await _http.PostAsJsonAsync("/api/sagas/entity-enrichment", new { input = new { entityId = entity } }, Json);
        var body = await Ensure(response, HttpStatusCode.Accepted);
        Sagas[body.GetProperty("sagaId").GetString()!] = kind;
        Interlocked.Increment(ref Counters.SagasStarted);
    }

    private async Task ReadAsync(InvestigationLedger ledger)
    {
        using var response = await _http.GetAsync($"/api/aggregates/Investigation/{ledger.Id}");
        await Ensure(response, HttpStatusCode.OK);
        Interlocked.Increment(ref Counters.Reads);
    }

    // A command: the new version when accepted, null when rejected (409); anything else is an error.
    private async Task<long?> CommandAsync(string type, string id, object payload)
    {
        using var response = await _http.PostAsJsonAsync("/api/commands", new { type, aggregateId = id, payload }, Json);
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            Interlocked.Increment(ref Counters.CommandsRejected);
            return null;
        }
        var body = await Ensure(response, HttpStatusCode.OK);
        Interlocked.Increment(ref Counters.CommandsAccepted);
        return body.GetProperty("data").GetProperty("version").GetInt64();
    }

    private static async Task<JsonElement> Ensure(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != expected)
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: {(int)response.StatusCode} {text[..Math.Min(200, text.Length)]}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}
