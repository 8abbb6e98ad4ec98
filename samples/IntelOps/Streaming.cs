using System.Collections.Concurrent;
using Akka;
using Akka.Actor;
using Akka.EventDriven;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.Kafka;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.Projections;
using Akka.EventDriven.Streaming;
using Akka.Streams;
using Akka.Streams.Dsl;
using Confluent.Kafka;
using IntelOps.Domain;

namespace IntelOps;

/// <summary>A finding as published on the bus topic the pipelines read.</summary>
[EventType("intelops.finding-observed", 1)]
public sealed record FindingObserved(string InvestigationId, string Summary, int Severity, DateTimeOffset At);

/// <summary>An analyzed threat: a severe finding, enriched (the guide's <c>analyzed.threats</c>).</summary>
[EventType("intelops.analyzed-threat", 1)]
public sealed record AnalyzedThreat(string InvestigationId, string Summary, int Severity, string Category, DateTimeOffset At);

/// <summary>
/// The guide's stream processing on the investigations' events. A bridge pipeline publishes every finding from the
/// event journal (by tag) to the durable bus topic <c>intel.findings</c>; the <c>threat-analysis</c> pipeline reads that
/// topic (findings with severity ≥ 7, enriched) and publishes to the bus topic <c>analyzed.threats</c>; a second
/// pipeline keeps a per-minute tumbling count of them. With <c>KAFKA_BROKERS</c> set, the analyzed threats also go to
/// the Kafka topic <c>analyzed.threats</c>.
/// </summary>
public static class ThreatStreaming
{
    /// <summary>The guide's threat analysis: findings of severity 7 or more, categorized (critical from 9). The operators
    /// of the <c>threat-analysis</c> pipeline, apart from its source and sink, so <c>samples/IntelOps.Tests</c> can run
    /// them on test probes.</summary>
    public static PipelineBuilder<AnalyzedThreat> AnalyzeThreats(PipelineBuilder<FindingObserved> findings) => findings
        .Where(f => f.Severity >= 7)
        .Select(f => new AnalyzedThreat(f.InvestigationId, f.Summary, f.Severity, f.Severity >= 9 ? "critical" : "high", f.At));

    /// <summary>Severe findings counted per minute of event time (5 s out of order allowed): the operators of the
    /// <c>threats-per-minute</c> pipeline.</summary>
    public static PipelineBuilder<WindowResult<NotUsed, long>> ThreatsPerMinute(PipelineBuilder<FindingObserved> findings) => findings
        .Where(f => f.Severity >= 7)
        .TumblingWindow(TimeSpan.FromMinutes(1), Aggregators.Count<FindingObserved>(),
            new WindowOptions<FindingObserved> { EventTime = f => f.At, MaxOutOfOrderness = TimeSpan.FromSeconds(5) });

    /// <summary>Runs the pipelines over this run's investigations (ids containing <paramref name="runId"/>) until they
    /// have seen <paramref name="expectedThreats"/> threats, stops them (the open minute is flushed) and returns what
    /// does not match.</summary>
    public static async Task<List<string>> RunAsync(ActorSystem system, string runId, int expectedThreats)
    {
        var bus = EventBus.Get(system);
        var findingsTopic = $"intel.findings.run-{runId}";
        var analyzedTopic = $"analyzed.threats.run-{runId}";
        var analyzed = new ConcurrentQueue<AnalyzedThreat>();
        var perMinute = new ConcurrentQueue<WindowResult<NotUsed, long>>();
        await using var collect = await bus.SubscribeAsync<AnalyzedThreat>(analyzedTopic, (m, _) =>
        {
            analyzed.Enqueue(m.Payload);
            return Task.CompletedTask;
        });

        var journal = EventSource.ByTag(system, "Investigation", pollInterval: TimeSpan.FromMilliseconds(100))
            .Where(e => e.PersistenceId.Contains(runId, StringComparison.Ordinal));
        Source<FindingObserved, Task<IBusSubscription>> Findings(string group) =>
            BusStreams.Subscribe<FindingObserved>(bus, findingsTopic, new SubscriptionOptions { Durable = true, Group = group })
                .Select(m => m.Payload);

        await using var processor = new StreamProcessor(system);
        processor.DefinePipeline(Pipeline.Create("findings-to-bus")
            .From(journal)
            .Where(e => e.Event is FindingAdded)
            .Select(e =>
            {
                var finding = ((FindingAdded)e.Event).Finding;
                return new FindingObserved(e.PersistenceId, finding.Summary, finding.Severity, e.Metadata.Timestamp);
            })
            .To(BusStreams.Publish<FindingObserved>(bus, findingsTopic, new PublishOptions { Persistent = true })));
        processor.DefinePipeline(AnalyzeThreats(Pipeline.Create("threat-analysis").From(Findings("threat-analysis")))
            .To(BusStreams.Publish<AnalyzedThreat>(bus, analyzedTopic)));
        processor.DefinePipeline(ThreatsPerMinute(Pipeline.Create("threats-per-minute").From(Findings("threats-per-minute")))
            .ForEach(perMinute.Enqueue));
        await processor.StartAsync("findings-to-bus");
        await processor.StartAsync("threat-analysis");
        await processor.StartAsync("threats-per-minute");

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((analyzed.Count < expectedThreats || processor.GetMetrics("threats-per-minute").ElementsIn < processor.GetMetrics("threat-analysis").ElementsIn)
               && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        await processor.StopAsync("findings-to-bus");
        await processor.StopAsync("threat-analysis");
        await processor.StopAsync("threats-per-minute");     // graceful: the open minute is emitted

        var mismatches = new List<string>();
        if (analyzed.Count != expectedThreats) mismatches.Add($"threat-analysis saw {analyzed.Count} threats, expected {expectedThreats}");
        var windowed = perMinute.Sum(w => w.Value);
        if (windowed != expectedThreats) mismatches.Add($"per-minute windows counted {windowed} threats, expected {expectedThreats}");
        Console.WriteLine($"Streaming: {processor.GetMetrics("findings-to-bus").ElementsOut} findings published to bus topic intel.findings; " +
                          $"{analyzed.Count} threats analyzed ({analyzed.Count(t => t.Category == "critical")} critical); per minute: " +
                          string.Join(", ", perMinute.Select(w => $"{w.Start:HH:mm} {w.Value}")));

        if (Environment.GetEnvironmentVariable("KAFKA_BROKERS") is { Length: > 0 })
        {
            var settings = KafkaProducerSettings<string, string>.Create(system);
            await Source.From(analyzed)
                .Select(t => new Message<string, string> { Key = t.InvestigationId, Value = System.Text.Json.JsonSerializer.Serialize(t) })
                .RunWith(KafkaProducer.Sink(settings, "analyzed.threats"), system.Materializer());
            Console.WriteLine($"Streaming: {analyzed.Count} threats produced to Kafka topic analyzed.threats");
        }
        return mismatches;
    }
}
