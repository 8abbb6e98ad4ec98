using System.Collections.Concurrent;
using Akka;
using Akka.Actor;
using Akka.EventDriven.Kafka;
using Akka.EventDriven.Projections;
using Akka.EventDriven.Streaming;
using Akka.Streams;
using Akka.Streams.Dsl;
using Confluent.Kafka;
using IntelOps.Domain;

namespace IntelOps;

/// <summary>An analyzed threat: a severe finding, enriched (the guide's <c>analyzed.threats</c>).</summary>
public sealed record AnalyzedThreat(string InvestigationId, string Summary, int Severity, string Category, DateTimeOffset At);

/// <summary>
/// The guide's stream processing on the investigations' events: the <c>threat-analysis</c> pipeline (findings with
/// severity ≥ 7, enriched, to an output) and a per-minute tumbling count of them, read from the event journal by tag.
/// With <c>KAFKA_BROKERS</c> set, the analyzed threats also go to the Kafka topic <c>analyzed.threats</c>.
/// </summary>
public static class ThreatStreaming
{
    /// <summary>Runs both pipelines over this run's investigations (ids containing <paramref name="runId"/>) until they
    /// have seen <paramref name="expectedThreats"/> threats, stops them (the open minute is flushed) and returns what
    /// does not match.</summary>
    public static async Task<List<string>> RunAsync(ActorSystem system, string runId, int expectedThreats)
    {
        var analyzed = new ConcurrentQueue<AnalyzedThreat>();
        var perMinute = new ConcurrentQueue<WindowResult<NotUsed, long>>();
        var threats = EventSource.ByTag(system, "Investigation", pollInterval: TimeSpan.FromMilliseconds(100))
            .Where(e => e.PersistenceId.Contains(runId, StringComparison.Ordinal))
            .Select(e => (e.PersistenceId, e.Event, e.Metadata.Timestamp));

        await using var processor = new StreamProcessor(system);
        processor.DefinePipeline(Pipeline.Create("threat-analysis")
            .From(threats)
            .Where(e => e.Event is FindingAdded { Finding.Severity: >= 7 })
            .Select(e =>
            {
                var finding = ((FindingAdded)e.Event).Finding;
                return new AnalyzedThreat(e.PersistenceId, finding.Summary, finding.Severity, finding.Severity >= 9 ? "critical" : "high", e.Timestamp);
            })
            .ForEach(analyzed.Enqueue));
        processor.DefinePipeline(Pipeline.Create("threats-per-minute")
            .From(threats)
            .Where(e => e.Event is FindingAdded { Finding.Severity: >= 7 })
            .TumblingWindow(TimeSpan.FromMinutes(1), Aggregators.Count<(string, object, DateTimeOffset)>(),
                new WindowOptions<(string, object, DateTimeOffset)> { EventTime = e => e.Item3, MaxOutOfOrderness = TimeSpan.FromSeconds(5) })
            .ForEach(perMinute.Enqueue));
        await processor.StartAsync("threat-analysis");
        await processor.StartAsync("threats-per-minute");

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((analyzed.Count < expectedThreats || processor.GetMetrics("threats-per-minute").ElementsIn < processor.GetMetrics("threat-analysis").ElementsIn)
               && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        await processor.StopAsync("threat-analysis");
        await processor.StopAsync("threats-per-minute");     // graceful: the open minute is emitted

        var mismatches = new List<string>();
        if (analyzed.Count != expectedThreats) mismatches.Add($"threat-analysis saw {analyzed.Count} threats, expected {expectedThreats}");
        var windowed = perMinute.Sum(w => w.Value);
        if (windowed != expectedThreats) mismatches.Add($"per-minute windows counted {windowed} threats, expected {expectedThreats}");
        Console.WriteLine($"Streaming: {analyzed.Count} threats analyzed ({analyzed.Count(t => t.Category == "critical")} critical); per minute: " +
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
