using System.Diagnostics;
using Akka.Actor;
using Akka.EventDriven;
using Akka.EventDriven.Cqrs;
using Akka.EventDriven.EventSourcing;
using IntelOps;
using Akka.EventDriven.Hosting;
using IntelOps.Domain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// The main job: one node on the embedded default (SQLite file), a few hundred commands across many
// investigations, a full restart of the actor system, and proof that every aggregate's state came back.
var environment = Environment.GetEnvironmentVariable("INTELOPS_ENV") ?? "development";
var investigations = args.Length > 0 && int.TryParse(args[0], out var n) && n > 0 ? n : 60;
var runId = DateTime.UtcNow.ToString("yyyyMMddHHmmss");

IHost BuildHost() => IntelOpsHost.Build(environment, o => o.AddAggregate(Investigation.Definition, a => a.SnapshotEvery = 5));

Console.WriteLine($"IntelOps: {investigations} investigations, environment '{environment}', run {runId}");

// ---- Phase 1: drive commands --------------------------------------------------------------------------
var expected = new Dictionary<string, AggregateState<InvestigationState>>();
int accepted = 0, rejected = 0;
long events = 0;
var clock = Stopwatch.StartNew();
using (var host = BuildHost())
{
    await host.StartAsync();
    var system = host.Services.GetRequiredService<ActorSystem>();
    var repo = Aggregates.Get(system).Repository(Investigation.Definition);

    async Task Track(Task<CommandResult> send)
    {
        var result = await send;
        if (result is CommandAccepted a) { Interlocked.Increment(ref accepted); Interlocked.Add(ref events, a.Events.Count); }
        else Interlocked.Increment(ref rejected);
    }

    var ids = Enumerable.Range(1, investigations).Select(i => $"inv-{runId}-{i:D4}").ToArray();
    await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, _) =>
    {
        var i = int.Parse(id[^4..]);
        var correlation = new CommandOptions { CorrelationId = $"case-{i}" };
        await Track(repo.SendAsync(id, new StartInvestigation($"APT campaign {i}", $"analyst-{i % 7}"), correlation));
        for (var f = 1; f <= 5; f++)
            await Track(repo.SendAsync(id, new AddFinding($"indicator {f} of {id}", (i + f) % 10 + 1), correlation));
        await Track(repo.SendAsync(id, new LinkEntity($"entity-{i % 13}"), correlation));
        await Track(repo.SendAsync(id, new LinkEntity($"entity-{i % 13}"), correlation));          // idempotent: no event
        await Track(repo.SendAsync(id, new AddFinding("bogus", 42), correlation));                  // rejected: severity
        await Track(repo.SendAsync(id, new AddFinding("stale", 5), new CommandOptions { ExpectedVersion = 1 })); // rejected: version
        if (i % 3 == 0)
        {
            await Track(repo.SendAsync(id, new CloseInvestigation("attributed"), correlation));
            await Track(repo.SendAsync(id, new AddFinding("late", 3), correlation));              // rejected: closed
        }
    });
    var elapsed = clock.Elapsed;
    foreach (var id in ids) expected[id] = await repo.GetStateAsync(id);

    Console.WriteLine($"Phase 1: {accepted + rejected} commands in {elapsed.TotalSeconds:0.00} s " +
                      $"({(accepted + rejected) / elapsed.TotalSeconds:0} commands/s): {accepted} accepted, {rejected} rejected, {events} events persisted");
    await host.StopAsync();
}

// ---- Phase 2: a new actor system recovers every aggregate from storage ----------------------------------
using (var host = BuildHost())
{
    await host.StartAsync();
    var system = host.Services.GetRequiredService<ActorSystem>();
    var repo = Aggregates.Get(system).Repository(Investigation.Definition);

    int same = 0, fromSnapshot = 0;
    long replayed = 0;
    var mismatches = new List<string>();
    foreach (var (id, before) in expected)
    {
        var after = await repo.GetStateAsync(id);
        if (after.Version == before.Version && SameState(after.State, before.State)) same++;
        else mismatches.Add($"{id}: v{before.Version} -> v{after.Version}");
        if (after.Recovery?.SnapshotSequenceNr is not null) fromSnapshot++;
        replayed += after.Recovery?.EventsReplayed ?? 0;
    }
    Console.WriteLine($"Phase 2 (after restart): {same}/{expected.Count} investigations recovered with identical state and version; " +
                      $"{fromSnapshot} started from a snapshot, {replayed} events replayed in total");

    // ---- Read model: active investigations per analyst, by an exactly-once projection, served by a cached query.
    await using (var projection = IntelOps.ReadModel.Start(system))
    await using (var queries = new QueryBus(system))
    {
        var query = new ActiveInvestigationsPerAnalyst(PersistenceIds.For(Investigation.Definition.Name, $"inv-{runId}-"));
        queries.Register<ActiveInvestigationsPerAnalyst, IReadOnlyDictionary<string, long>>(
            (q, ct) => IntelOps.ReadModel.QueryAsync(system, q, ct),
            new QueryCacheOptions<ActiveInvestigationsPerAnalyst>(TimeSpan.FromMinutes(1), _ => [Investigation.Definition.Name + "-"]));
        await projection.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(60));
        var perAnalyst = await queries.ExecuteAsync<IReadOnlyDictionary<string, long>>(query);
        var want = expected.Values.Where(s => s.State.Status == InvestigationStatus.Active)
            .GroupBy(s => s.State.Analyst!).ToDictionary(g => g.Key, g => (long)g.Count());
        var status = await projection.GetStatusAsync();
        Console.WriteLine($"Read model (exactly-once projection at offset {status.Offset}, {status.EventsBehind} behind): active investigations per analyst: " +
                          string.Join(", ", perAnalyst.Select(kv => $"{kv.Key}={kv.Value}")));
        if (!want.OrderBy(kv => kv.Key).SequenceEqual(perAnalyst.OrderBy(kv => kv.Key)))
            mismatches.Add("read model differs from the aggregates' states");

        // Closing one more investigation invalidates the cached query on the next projected event.
        var toClose = expected.First(kv => kv.Value.State.Status == InvestigationStatus.Active);
        await repo.SendAsync(toClose.Key, new CloseInvestigation("closed after restart"));
        await projection.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(60));
        await queries.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(60));
        var after = await queries.ExecuteAsync<IReadOnlyDictionary<string, long>>(query);
        if (after.Values.Sum() != perAnalyst.Values.Sum() - 1) mismatches.Add("cached query was not invalidated by the close");
        Console.WriteLine($"After closing {toClose.Key}: {after.Values.Sum()} active (was {perAnalyst.Values.Sum()})");
    }

    var sample = expected.Keys.First(k => int.Parse(k[^4..]) % 3 == 0);
    Console.WriteLine($"Audit trail of {sample}:");
    foreach (var e in await repo.GetHistoryAsync(sample))
        Console.WriteLine($"  #{e.SequenceNr,-2} {e.Metadata.Timestamp:HH:mm:ss.fff} {e.TypeName,-34} correlation={e.Metadata.CorrelationId}");
    var asOf2 = await repo.GetStateAtAsync(sample, 2);
    Console.WriteLine($"  state as of version 2: {asOf2.State.Status}, {asOf2.State.Findings.Count} finding(s)");

    mismatches.AddRange(await ThreatStreaming.RunAsync(system, runId, expected.Values.Sum(s => s.State.Findings.Count(f => f.Severity >= 7))));
    await host.StopAsync();
    if (mismatches.Count > 0)
    {
        Console.Error.WriteLine("State NOT recovered for: " + string.Join(", ", mismatches.Take(10)));
        return 1;
    }
}
// ---- Event bus: durable topic, queue with dead letters, request-reply (Messaging.cs) --------------------------
if (await IntelOps.Messaging.RunAsync(environment, runId) != 0) return 1;

// ---- Sagas: the guide's entity-enrichment saga with injected failures (Enrichment.cs) ----------------------
if (await IntelOps.Enrichment.RunAsync(environment, runId) != 0) return 1;
Console.WriteLine("IntelOps: OK");
return 0;

static bool SameState(InvestigationState a, InvestigationState b) =>
    a.Status == b.Status && a.Title == b.Title && a.Analyst == b.Analyst
    && a.Findings.SequenceEqual(b.Findings) && a.Entities.SetEquals(b.Entities);
