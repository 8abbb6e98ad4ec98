using System.Globalization;
using System.Diagnostics;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Sagas;
using IntelOps.Domain;
using Microsoft.Extensions.DependencyInjection;

namespace IntelOps;

/// <summary>The main job's command line.</summary>
public sealed record JobOptions
{
    public const string Usage = """
        usage: dotnet run --project samples/IntelOps [-- options]
          --duration <30s|5m|N>  stop the traffic after this long (seconds without a unit)
          --events <N>           stop after N API calls
          --rate <N>             API calls per second (default 50)
          --port <N>             HTTP port on 127.0.0.1 (default 3000; 0 = any free port)
          --no-dashboard         serve the API only
          --verify               check everything the traffic produced; exit 1 on any mismatch
        Without --duration or --events it runs until Ctrl+C, then stops gracefully.
        """;

    public TimeSpan? Duration { get; init; }
    public long? Events { get; init; }
    public int Rate { get; init; } = 50;
    public int Port { get; init; } = 3000;
    public bool Dashboard { get; init; } = true;
    public bool Verify { get; init; }
    public bool Help { get; init; }
    public string? Error { get; init; }

    public static JobOptions Parse(string[] args)
    {
        var o = new JobOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var option = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            try
            {
                o = args[i] switch
                {
                    "--duration" => o with { Duration = ParseDuration(Value()) },
                    "--events" => o with { Events = long.Parse(Value(), CultureInfo.InvariantCulture) is var n and > 0 ? n : throw new FormatException("--events must be positive") },
                    "--rate" => o with { Rate = int.Parse(Value(), CultureInfo.InvariantCulture) is var r and > 0 and <= 100_000 ? r : throw new FormatException("--rate must be 1 to 100000") },
                    "--port" => o with { Port = int.Parse(Value(), CultureInfo.InvariantCulture) is var p and >= 0 and <= 65535 ? p : throw new FormatException("--port must be 0 to 65535") },
                    "--no-dashboard" => o with { Dashboard = false },
                    "--verify" => o with { Verify = true },
                    "--help" or "-h" => o with { Help = true },
                    var other => throw new FormatException($"unknown option '{other}'"),
                };
            }
            catch (FormatException e) { return o with { Error = e.Message.StartsWith("--", StringComparison.Ordinal) || e.Message.StartsWith("unknown", StringComparison.Ordinal) ? e.Message : $"{option}: {e.Message}" }; }
            catch (OverflowException) { return o with { Error = $"{args[i]}: the number is too large" }; }
        }
        return o;
    }

    private static TimeSpan ParseDuration(string text)
    {
        var (number, unit) = text.EndsWith("ms") ? (text[..^2], 0.001) : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0) : text.EndsWith('h') ? (text[..^1], 3600.0) : (text, 1.0);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0)
            throw new FormatException($"--duration '{text}' is not a duration such as 30s, 5m or 1h");
        return TimeSpan.FromSeconds(value * unit);
    }
}

/// <summary>One status line, rewritten in place on a terminal (every 5 s as a new line when the output is a file).</summary>
public sealed class ProgressLine(LiveSystem live, TrafficGenerator generator, Stopwatch clock)
{
    private long _lastCalls;
    private TimeSpan _lastAt;
    private TimeSpan? _lastPrinted;
    private int _width;

    public async Task ShowAsync()
    {
        var now = clock.Elapsed;
        var redirected = Console.IsOutputRedirected;
        if (redirected && _lastPrinted is { } last && now - last < TimeSpan.FromSeconds(5)) return;
        var c = generator.Counters;
        var calls = Interlocked.Read(ref c.Calls);
        var rate = (calls - _lastCalls) / Math.Max(0.001, (now - _lastAt).TotalSeconds);
        (_lastCalls, _lastAt, _lastPrinted) = (calls, now, now);
        var dlq = await live.Bus.DeadLetters(LiveSystem.EnrichDeadLetters).CountAsync();
        var lag = (await live.ReadModel.GetStatusAsync()).EventsBehind;
        var window = live.ThreatsPerMinute.LastOrDefault();
        var line = $"[{now:mm\\:ss}] {calls:N0} calls ({rate:0}/s) | commands {c.CommandsAccepted:N0} ok {c.CommandsRejected:N0} rejected | " +
                   $"alerts {live.AlertsDelivered.Count:N0}/{c.AlertsPublished:N0} delivered | sagas {c.SagasStarted:N0} | " +
                   $"DLQ {dlq} | read model lag {lag} | threats {live.Threats.Count:N0}" +
                   (window is null ? "" : $" ({window.Value} in {window.Start:HH:mm})") + (c.Errors > 0 ? $" | errors {c.Errors}" : "");
        if (redirected) Console.WriteLine(line);
        else
        {
            Console.Write("\r" + line.PadRight(_width));
            _width = line.Length;
        }
    }

    public void End()
    {
        if (!Console.IsOutputRedirected) Console.WriteLine();
    }
}

/// <summary>The end-of-run summary.</summary>
public static class Summary
{
    public static async Task PrintAsync(LiveSystem live, TrafficGenerator generator, TimeSpan elapsed)
    {
        var c = generator.Counters;
        var closed = generator.Investigations.Values.Count(i => i.Closed);
        var projection = await live.ReadModel.GetStatusAsync();
        Console.WriteLine($"Summary after {elapsed.TotalSeconds:0.0} s: {c.Calls:N0} API calls ({c.Calls / Math.Max(0.001, elapsed.TotalSeconds):0}/s), {c.Errors} errors" +
                          (c.LastError is null ? "" : $" (last: {c.LastError})"));
        Console.WriteLine($"  investigations: {generator.Investigations.Count} opened, {closed} closed; commands {c.CommandsAccepted} accepted, {c.CommandsRejected} rejected");
        Console.WriteLine($"  bus: {c.AlertsPublished} alerts published, {live.AlertsDelivered.Count} delivered to triage; " +
                          $"{c.EnrichQueued + c.PoisonQueued} enrichment requests ({c.PoisonQueued} poison), {live.Enriched.Count} enriched, " +
                          $"{await live.Bus.DeadLetters(LiveSystem.EnrichDeadLetters).CountAsync()} in {LiveSystem.EnrichDeadLetters}");
        Console.WriteLine($"  sagas: {c.SagasStarted} started ({string.Join(", ", generator.Sagas.Values.GroupBy(k => k).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}"))})");
        Console.WriteLine($"  read model: offset {projection.Offset}, {projection.EventsBehind} behind; threats analyzed {live.Threats.Count}; " +
                          $"per minute: {string.Join(", ", live.ThreatsPerMinute.Select(w => $"{w.Start:HH:mm} {w.Value}"))}");
    }
}

/// <summary>The checks of --verify: what the generator was told (its ledger) against what the system holds.</summary>
public static class LiveChecks
{
    private static async Task<bool> Until(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(100);
        }
        return true;
    }

    /// <summary>Bus delivery, dead letters and their replay, saga outcomes, and the read model.</summary>
    public static async Task<List<string>> RunAsync(LiveSystem live, TrafficGenerator generator)
    {
        var failures = new List<string>();
        var bus = live.Bus;

        // Every acknowledged alert reaches the durable subscription exactly once.
        if (!await Until(() => Task.FromResult(generator.Alerts.Keys.All(live.AlertsDelivered.ContainsKey)), TimeSpan.FromSeconds(60)))
            failures.Add($"alerts: {generator.Alerts.Keys.Count(k => !live.AlertsDelivered.ContainsKey(k))} of {generator.Alerts.Count} not delivered");
        if (live.AlertsDelivered.Values.Any(n => n > 1)) failures.Add("alerts: a message was delivered twice to one group");

        // Good requests are enriched; every poison one ends in the dead-letter queue, then is replayed once fixed.
        var poison = generator.EnrichRequests.Where(kv => kv.Value).Select(kv => kv.Key).ToHashSet();
        var good = generator.EnrichRequests.Where(kv => !kv.Value).Select(kv => kv.Key).ToArray();
        var letters = bus.DeadLetters(LiveSystem.EnrichDeadLetters);
        if (!await Until(async () => good.All(live.Enriched.ContainsKey) && await letters.CountAsync() >= poison.Count, TimeSpan.FromSeconds(60)))
            failures.Add($"queue: {good.Count(g => !live.Enriched.ContainsKey(g))} requests not enriched, {await letters.CountAsync()} of {poison.Count} poison dead-lettered");
        live.EnricherFixed = true;
        using (var http = new HttpClient { BaseAddress = live.Address })
        using (var replay = await http.PostAsync($"/api/dead-letters/{LiveSystem.EnrichDeadLetters}/replay-all", null))
            if (!replay.IsSuccessStatusCode) failures.Add($"replay-all answered {(int)replay.StatusCode}");
        if (!await Until(async () => poison.All(live.Enriched.ContainsKey) && await letters.CountAsync() == 0, TimeSpan.FromSeconds(60)))
            failures.Add($"replay: {poison.Count(p => !live.Enriched.ContainsKey(p))} poison requests not handled after replay");
        Console.WriteLine($"Check bus: {live.AlertsDelivered.Count}/{generator.Alerts.Count} alerts delivered once; {good.Length} requests enriched; " +
                          $"{poison.Count} poison dead-lettered and handled after replay-all");

        // Each saga ends as its entity's kind says: clean and flaky complete, locked and slow are compensated.
        var outcomes = new Dictionary<string, SagaState>();
        await Until(async () =>
        {
            foreach (var id in generator.Sagas.Keys.Where(id => !outcomes.ContainsKey(id)))
                if (await live.Sagas.GetStatusAsync(id) is { State: SagaState.Completed or SagaState.Compensated or SagaState.Failed } s)
                    outcomes[id] = s.State;
            return outcomes.Count == generator.Sagas.Count;
        }, TimeSpan.FromSeconds(90));
        var wrong = generator.Sagas.Where(kv => !outcomes.TryGetValue(kv.Key, out var state)
            || state != (kv.Value is "clean" or "flaky" ? SagaState.Completed : SagaState.Compensated)).ToList();
        if (wrong.Count > 0) failures.Add($"sagas: {wrong.Count} ended wrong or not at all, e.g. {wrong[0].Value} {wrong[0].Key}: {(outcomes.TryGetValue(wrong[0].Key, out var st) ? st : "unfinished")}");
        Console.WriteLine($"Check sagas: {outcomes.Count}/{generator.Sagas.Count} finished: " +
                          string.Join(", ", outcomes.Values.GroupBy(s => s).Select(g => $"{g.Count()} {g.Key}")) + $"; {wrong.Count} not as expected");

        // The read model (exactly-once projection, cached query) has exactly the active investigations per analyst.
        await live.ReadModel.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(60));
        await live.Queries.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(60));
        var query = new ActiveInvestigationsPerAnalyst(PersistenceIds.For(Investigation.Definition.Name, $"inv-{generator.RunId}-"));
        var perAnalyst = await live.Queries.ExecuteAsync<IReadOnlyDictionary<string, long>>(query);
        var want = generator.Investigations.Values.Where(i => !i.Closed).GroupBy(i => i.Analyst).ToDictionary(g => g.Key, g => (long)g.Count());
        var same = want.OrderBy(kv => kv.Key).SequenceEqual(perAnalyst.OrderBy(kv => kv.Key));
        if (!same) failures.Add("read model differs from the ledger");
        Console.WriteLine($"Check read model: active investigations per analyst {string.Join(", ", perAnalyst.Select(kv => $"{kv.Key}={kv.Value}"))}; matches the ledger: {same}");

        // The pipelines have caught up before they are stopped: every severe finding analysed and delivered to the
        // threats subscriber, and both durable groups on the findings topic acknowledged up to the head of its log
        // (stopping earlier would leave findings of this run for the next run's groups, which filter them out).
        var severe = generator.Investigations.Values.Sum(i => i.SevereFindings);
        async Task<long> FindingsLag() => (await bus.GetTopicsAsync()).Where(t => t.Name == LiveSystem.FindingsTopic)
            .Sum(t => t.LagByGroup.Values.Sum());
        if (!await Until(async () => live.Threats.Count >= severe && await FindingsLag() == 0, TimeSpan.FromSeconds(60)))
            failures.Add($"pipelines: {live.Threats.Count} of {severe} severe findings analysed, {await FindingsLag()} findings not acknowledged after 60 s");
        return failures;
    }

    /// <summary>After the pipelines stopped (the open minute flushed): every severe finding was analysed and counted.</summary>
    public static List<string> Windows(LiveSystem live, TrafficGenerator generator)
    {
        var failures = new List<string>();
        var severe = generator.Investigations.Values.Sum(i => i.SevereFindings);
        var windowed = live.ThreatsPerMinute.Sum(w => w.Value);
        if (live.Threats.Count != severe) failures.Add($"threat-analysis saw {live.Threats.Count} threats, the ledger {severe}");
        if (windowed != severe) failures.Add($"per-minute windows counted {windowed} threats, the ledger {severe}");
        Console.WriteLine($"Check pipelines: {live.Threats.Count} threats analyzed and {windowed} counted in windows; the ledger has {severe} severe findings");
        return failures;
    }

    /// <summary>A new node recovers every investigation with the version and state the ledger holds.</summary>
    public static async Task<List<string>> RecoveryAsync(string environment, TrafficGenerator generator)
    {
        var failures = new List<string>();
        using var host = IntelOpsHost.Build(environment, o => o.AddAggregate(Investigation.Definition, a => a.SnapshotEvery = 5));
        await host.StartAsync();
        var repo = Aggregates.Get(host.Services.GetRequiredService<Akka.Actor.ActorSystem>()).Repository(Investigation.Definition);
        int same = 0, fromSnapshot = 0;
        long replayed = 0;
        foreach (var ledger in generator.Investigations.Values)
        {
            var state = await repo.GetStateAsync(ledger.Id);
            var ok = state.Version == ledger.Version && state.State.Analyst == ledger.Analyst
                     && state.State.Findings.Count == ledger.Findings && state.State.Entities.SetEquals(ledger.Entities)
                     && state.State.Status == (ledger.Closed ? InvestigationStatus.Closed : InvestigationStatus.Active);
            if (ok) same++;
            else if (failures.Count < 5) failures.Add($"{ledger.Id}: ledger v{ledger.Version}, recovered v{state.Version} {state.State.Status}");
            if (state.Recovery?.SnapshotSequenceNr is not null) fromSnapshot++;
            replayed += state.Recovery?.EventsReplayed ?? 0;
        }
        Console.WriteLine($"Phase 2 (after restart): {same}/{generator.Investigations.Count} investigations recovered with identical state and version; " +
                          $"{fromSnapshot} started from a snapshot, {replayed} events replayed in total");
        var sample = generator.Investigations.Values.OrderByDescending(i => i.Version).FirstOrDefault();
        if (sample is not null)
        {
            Console.WriteLine($"Audit trail of {sample.Id}:");
            foreach (var e in await repo.GetHistoryAsync(sample.Id))
                Console.WriteLine($"  #{e.SequenceNr,-2} {e.Metadata.Timestamp:HH:mm:ss.fff} {e.TypeName,-34} correlation={e.Metadata.CorrelationId}");
        }
        await host.StopAsync();
        return failures;
    }
}
