using System.Collections.Concurrent;
using Akka.Actor;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.Serialization;
using IntelOps.Domain;
using Microsoft.Extensions.DependencyInjection;

namespace IntelOps;

[EventType("intelops.case-closed", 1)] public sealed record CaseClosed(string InvestigationId, string Analyst, int Findings);
[EventType("intelops.enrich-request", 1)] public sealed record EnrichRequest(string EntityId);
[EventType("intelops.analyst-lookup", 1)] public sealed record AnalystLookup(string Analyst);
[EventType("intelops.analyst-load", 1)] public sealed record AnalystLoad(string Analyst, int OpenCases);

/// <summary>
/// The event bus in the main job: a durable topic of closed cases read by a reporting subscription that was down for
/// part of the time, an enrichment queue with two consumers and a poison request that lands in the dead-letter queue
/// (then is fixed and replayed), and a request-reply lookup. Exits non-zero when any of it is not as expected.
/// </summary>
public static class Messaging
{
    public static async Task<int> RunAsync(string environment, string runId)
    {
        using var host = IntelOpsHost.Build(environment, more: b => b.WithEventBus());
        await host.StartAsync();
        var bus = MessageBus.Get(host.Services.GetRequiredService<ActorSystem>());
        var failures = new List<string>();
        var topic = $"intel.cases-closed.run-{runId}";

        // Durable topic: 10 cases closed while reporting is up, 15 while it is down; it gets all 25, in order.
        var reported = new ConcurrentQueue<int>();
        var reporting = new SubscriptionOptions { Durable = true, Group = "reporting" };
        Task Report(BusMessage<CaseClosed> m, CancellationToken _) { reported.Enqueue((int)m.Sequence!.Value); return Task.CompletedTask; }
        var sub = await bus.SubscribeAsync<CaseClosed>(topic, Report, reporting);
        for (var i = 1; i <= 10; i++) await bus.PublishAsync(topic, new CaseClosed($"inv-{i}", $"analyst-{i % 3}", i), new PublishOptions { Persistent = true });
        await WaitAsync(() => reported.Count >= 10);
        await sub.DisposeAsync();
        for (var i = 11; i <= 25; i++) await bus.PublishAsync(topic, new CaseClosed($"inv-{i}", $"analyst-{i % 3}", i), new PublishOptions { Persistent = true });
        sub = await bus.SubscribeAsync<CaseClosed>(topic, Report, reporting);
        await WaitAsync(() => reported.Distinct().Count() >= 25);
        await sub.DisposeAsync();
        var inOrder = reported.Distinct().SequenceEqual(Enumerable.Range(1, 25));
        Console.WriteLine($"Bus durable topic: reporting received {reported.Distinct().Count()} of 25 closed cases (15 while it was down), in order: {inOrder}");
        if (!inOrder) failures.Add("durable topic");

        // Queue with two consumers; one request is poison until the enricher is fixed, then it is replayed.
        var queue = $"intel.enrich.run-{runId}";
        var dlq = $"intel.enrich-dlq.run-{runId}";
        var enriched = new ConcurrentDictionary<string, string>();
        var fixedUp = false;
        Func<BusMessage<EnrichRequest>, CancellationToken, Task> Enricher(string name) => (m, _) =>
        {
            if (m.Payload.EntityId == "entity-poison" && !fixedUp) throw new FormatException("malformed OSINT record");
            enriched[m.Payload.EntityId] = name;
            return Task.CompletedTask;
        };
        var options = new SubscriptionOptions { MaxRetries = 2, RetryBackoff = TimeSpan.FromMilliseconds(20), DeadLetterQueue = dlq };
        await using (await bus.ConsumeAsync(queue, Enricher("worker-a"), options))
        await using (await bus.ConsumeAsync(queue, Enricher("worker-b"), options))
        {
            for (var i = 0; i < 20; i++) await bus.EnqueueAsync(queue, new EnrichRequest($"entity-{i}"));
            await bus.EnqueueAsync(queue, new EnrichRequest("entity-poison"));
            var letters = bus.DeadLetters(dlq);
            await WaitAsync(async () => enriched.Count >= 20 && await letters.CountAsync() == 1);
            var letter = (await letters.ListAsync()).SingleOrDefault();
            Console.WriteLine($"Bus queue: {enriched.Count} requests enriched by {enriched.Values.Distinct().Count()} workers; " +
                              $"dead-lettered: {letter?.MessageId} after {letter?.Attempts} attempts ({letter?.Reason})");
            fixedUp = true;
            if (letter is not null) await letters.ReplayAsync(letter.Id);
            await WaitAsync(() => enriched.ContainsKey("entity-poison"));
            if (enriched.Count != 21 || letter is not { Attempts: 3 }) failures.Add("queue / dead letters");
        }

        // Request-reply.
        await using (await bus.HandleRequestsAsync<AnalystLookup, AnalystLoad>("intel.analyst.load",
                         (q, _) => Task.FromResult(new AnalystLoad(q.Analyst, q.Analyst.Length))))
        {
            var load = await bus.RequestAsync<AnalystLoad>("intel.analyst.load", new AnalystLookup("analyst-1"), TimeSpan.FromSeconds(5));
            Console.WriteLine($"Bus request-reply: {load.Analyst} has {load.OpenCases} open cases");
            if (load.OpenCases != "analyst-1".Length) failures.Add("request-reply");
        }

        var metrics = await bus.GetMetricsAsync();
        Console.WriteLine($"Bus metrics: published {metrics.MessagesPublished}, delivered {metrics.MessagesDelivered}, " +
                          $"dead-lettered {metrics.MessagesDeadLettered}, retries {metrics.Retries}, lag {metrics.SubscriptionLag}");
        await host.StopAsync();
        if (failures.Count == 0) return 0;
        Console.Error.WriteLine("Event bus checks FAILED: " + string.Join(", ", failures));
        return 1;
    }

    private static Task WaitAsync(Func<bool> condition) => WaitAsync(() => Task.FromResult(condition()));

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition() && DateTime.UtcNow < deadline) await Task.Delay(50);
    }
}
