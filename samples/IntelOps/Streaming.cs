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
