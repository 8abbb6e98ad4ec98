using Akka;
using Akka.EventDriven;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.Kafka;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.Streaming;
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

/// <summary>The operators of the guide's stream processing (the pipelines themselves, with their sources and sinks,
/// run in <see cref="LiveSystem"/>): threat analysis and the per-minute tumbling count.</summary>
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
            new WindowOptions<FindingObserved> { EventTime = f => f.At, MaxOutOfOrderness = TimeSpan.FromSeconds(5), ValueUnit = "threats" });
}
