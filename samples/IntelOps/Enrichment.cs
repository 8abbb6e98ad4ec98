using System.Collections.Concurrent;
using Akka.Actor;
using Akka.EventDriven.Sagas;
using Microsoft.Extensions.DependencyInjection;

namespace IntelOps;

/// <summary>The data of the entity-enrichment saga (the guide's <c>ctx.data</c>), stored with every completed step.</summary>
public sealed class EnrichmentData
{
    public string EntityId { get; set; } = "";
    public string? Osint { get; set; }
    public int? RiskScore { get; set; }
}

/// <summary>Stub OSINT service: fetch caches the data for the entity, cleanup removes it. Failures can be injected.</summary>
public sealed class OsintService
{
    public ConcurrentDictionary<string, string> Cache { get; } = new();
    public ConcurrentDictionary<string, int> Cleanups { get; } = new();
    public ConcurrentDictionary<string, TimeSpan> SlowFor { get; } = new();
    /// <summary>Entities (by id) whose fetch takes 30 s, far past the step's timeout (the timeout cancels it).</summary>
    public Func<string, bool>? SlowWhen { get; set; }

    public async Task<string> FetchAsync(string entityId, string idempotencyKey, CancellationToken ct)
    {
        if (SlowFor.TryGetValue(entityId, out var delay)) await Task.Delay(delay, ct);
        else if (SlowWhen?.Invoke(entityId) == true) await Task.Delay(TimeSpan.FromSeconds(30), ct);
        return Cache.GetOrAdd(entityId, id => $"osint({id}, request {idempotencyKey})"); // idempotent per entity
    }

    public Task CleanupAsync(string entityId)
    {
        Cache.TryRemove(entityId, out _);
        Cleanups.AddOrUpdate(entityId, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}

/// <summary>Stub risk analysis: pure, but can be made to fail the next N calls for an entity.</summary>
public sealed class RiskService
{
    public ConcurrentDictionary<string, int> FailNext { get; } = new();
    /// <summary>Entities (by id) whose first two analyses fail (a transient outage a retry absorbs).</summary>
    public Func<string, bool>? FlakyWhen { get; set; }

    public Task<int> AnalyzeAsync(string entityId, string osint)
    {
        if (FlakyWhen?.Invoke(entityId) == true) FailNext.TryAdd(entityId, 2);
        if (FailNext.TryGetValue(entityId, out var n) && n > 0 && FailNext.TryUpdate(entityId, n - 1, n))
            throw new InvalidOperationException("risk engine unavailable");
        return Task.FromResult(osint.Length % 100);
    }
}

/// <summary>Stub entity store: update records the enrichment, revert restores the previous record.</summary>
public sealed class EntityService
{
    public ConcurrentDictionary<string, string> Records { get; } = new();
    public ConcurrentDictionary<string, bool> Broken { get; } = new();
    /// <summary>Entities (by id) the store rejects for good.</summary>
    public Func<string, bool>? BrokenWhen { get; set; }

    public Task UpdateAsync(string entityId, string osint, int riskScore)
    {
        if (Broken.ContainsKey(entityId) || BrokenWhen?.Invoke(entityId) == true) throw new InvalidOperationException($"entity store rejected {entityId}");
        Records[entityId] = $"risk={riskScore}; {osint}";
        return Task.CompletedTask;
    }

    public Task RevertAsync(string entityId)
    {
        Records.TryRemove(entityId, out _);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The guide's <c>entity-enrichment</c> saga (fetch OSINT, analyse risk, update the entity, with compensations) run
/// against stub services with injected failures: a clean run, a transient failure that a retry absorbs, a step that
/// fails for good (the completed steps are compensated in reverse order) and a step that times out.
/// </summary>
public static class Enrichment
{
    public static SagaDefinition<EnrichmentData> Define(OsintService osint, RiskService risk, EntityService entities) =>
        #region saga-definition
        SagaDefinition.Define<EnrichmentData>("entity-enrichment", s => s
            .Named("Entity Enrichment Workflow")
            .Step("fetch-osint", "Fetch OSINT data",
                action: async (ctx, ct) => ctx.Data.Osint = await osint.FetchAsync(ctx.Data.EntityId, ctx.IdempotencyKey, ct),
                compensation: (ctx, _) => osint.CleanupAsync(ctx.Data.EntityId),
                // Far above a clean fetch (microseconds) even on a loaded machine, far below a slow one (30 s).
                timeout: TimeSpan.FromSeconds(2))
            .Step("analyze-risk", "Analyze risk score",
                action: async (ctx, _) => ctx.Data.RiskScore = await risk.AnalyzeAsync(ctx.Data.EntityId, ctx.Data.Osint!),
                retry: RetryPolicy.Exponential(3, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1)))
            .Step("update-entity", "Update entity record",
                action: (ctx, _) => entities.UpdateAsync(ctx.Data.EntityId, ctx.Data.Osint!, ctx.Data.RiskScore!.Value),
                compensation: (ctx, _) => entities.RevertAsync(ctx.Data.EntityId),
                retry: RetryPolicy.Exponential(2, TimeSpan.FromMilliseconds(50)))
            .Deadline(TimeSpan.FromMinutes(1)));
        #endregion

    /// <summary>Runs the four scenarios on a node of <paramref name="environment"/>; returns 0 when every outcome is as
    /// expected, else 1.</summary>
    public static async Task<int> RunAsync(string environment, string runId)
    {
        var (osint, risk, entities) = (new OsintService(), new RiskService(), new EntityService());
        var definition = Define(osint, risk, entities);
        using var host = IntelOpsHost.Build(environment, more: b => b.WithSagas(s => s.Add(definition)));
        await host.StartAsync();
        var sagas = SagaOrchestrator.Get(host.Services.GetRequiredService<ActorSystem>());
        var failures = new List<string>();

        string Entity(string name) => $"entity-{runId}-{name}";
        risk.FailNext[Entity("flaky")] = 2;                               // two transient failures, then fine
        entities.Broken[Entity("locked")] = true;                         // update-entity fails for good
        osint.SlowFor[Entity("slow")] = TimeSpan.FromSeconds(30);         // fetch-osint exceeds its 2 s timeout

        var runs = await Task.WhenAll(new[] { "clean", "flaky", "locked", "slow" }.Select(async name =>
            (Name: name, Status: await sagas.RunAsync(definition.Name, new EnrichmentData { EntityId = Entity(name) }, TimeSpan.FromSeconds(30)))));
        foreach (var (name, status) in runs)
        {
            var data = sagas.DataOf<EnrichmentData>(status);
            Console.WriteLine($"Saga entity-enrichment [{name}]: {status.State}; steps done: {string.Join(", ", status.CompletedSteps)}; " +
                              $"compensated: {string.Join(", ", status.CompensatedSteps)}; attempts: {status.History.Count}" +
                              (status.Reason is null ? "" : $"; reason: {status.Reason}"));
            var id = data.EntityId;
            var ok = name switch
            {
                "clean" => status.State == SagaState.Completed && entities.Records.ContainsKey(id) && data.RiskScore is not null,
                "flaky" => status.State == SagaState.Completed && status.History.Count(a => a.StepId == "analyze-risk" && !a.Succeeded) == 2,
                "locked" => status.State == SagaState.Compensated && status.CompensatedSteps.SequenceEqual(["fetch-osint"])
                            && !entities.Records.ContainsKey(id) && !osint.Cache.ContainsKey(id) && osint.Cleanups.GetValueOrDefault(id) == 1,
                // The timed-out fetch may still have cached its data: it is compensated too (the default timeout policy).
                "slow" => status.State == SagaState.Compensated && status.CompletedSteps.Count == 0
                          && status.History.Where(a => !a.Compensation).All(a => a.TimedOut)
                          && status.CompensatedSteps.SequenceEqual(["fetch-osint"]) && osint.Cleanups.GetValueOrDefault(id) == 1,
                _ => false,
            };
            if (!ok) failures.Add(name);
        }
        await host.StopAsync();
        if (failures.Count == 0) return 0;
        Console.Error.WriteLine("Saga outcomes NOT as expected for: " + string.Join(", ", failures));
        return 1;
    }
}
