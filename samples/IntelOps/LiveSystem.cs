using System.Collections.Concurrent;
using Akka;
using Akka.Actor;
using Akka.EventDriven.Cqrs;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Http;
using Akka.EventDriven.Projections;
using Akka.EventDriven.Sagas;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.Streaming;
using Akka.Hosting;
using Akka.Streams.Dsl;
using IntelOps.Domain;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IntelOps;

/// <summary>An alert from a sensor, published on the bus topic <see cref="LiveSystem.AlertsTopic"/>.</summary>
[EventType("intelops.alert", 1)]
public sealed record Alert(string Sensor, string Indicator, int Severity);

/// <summary>
/// The IntelOps system as it runs live: one node (the development environment: SQLite, joins itself) with the
/// Investigation aggregate, the event bus, the entity-enrichment saga, the threat pipelines and the read model, served
/// over the HTTP API (and the console, unless turned off) on 127.0.0.1. The traffic generator drives it through that
/// API; what the node observes (deliveries, dead letters, windows) is kept here for the progress line and the checks.
/// </summary>
public sealed class LiveSystem : IAsyncDisposable
{
    public const string AlertsTopic = "intel.alerts";
    public const string EnrichQueue = "intel.enrich";
    public const string EnrichDeadLetters = "intel.enrich-dlq";
    public const string FindingsTopic = "intel.findings";
    public const string ThreatsTopic = "analyzed.threats";

    private readonly WebApplication _app;
    private readonly List<IAsyncDisposable> _owned = [];

    private LiveSystem(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }
    public ActorSystem System => _app.Services.GetRequiredService<ActorSystem>();
    public MessageBus Bus => MessageBus.Get(System);
    public SagaOrchestrator Sagas => SagaOrchestrator.Get(System);

    // What the node saw.
    public ConcurrentDictionary<string, int> AlertsDelivered { get; } = new();
    public ConcurrentDictionary<string, int> Enriched { get; } = new();
    public ConcurrentQueue<AnalyzedThreat> Threats { get; } = new();
    public ConcurrentQueue<WindowResult<NotUsed, long>> ThreatsPerMinute { get; } = new();
    /// <summary>Off: the enricher fails on poison requests (they end in the dead-letter queue). On: it handles them.</summary>
    public volatile bool EnricherFixed;

    public (OsintService Osint, RiskService Risk, EntityService Entities) Services { get; private set; }
    public Projection ReadModel { get; private set; } = null!;
    public QueryBus Queries { get; private set; } = null!;
    public StreamProcessor Pipelines { get; private set; } = null!;

    /// <summary>Starts the node and its HTTP API on 127.0.0.1:<paramref name="port"/> (0 = any free port).</summary>
    public static async Task<LiveSystem> StartAsync(string environment, int port, bool dashboard, string runId)
    {
        // The generator names each saga's entity by the outcome it should have: entity-<kind>-...
        var (osint, risk, entities) = (new OsintService { SlowWhen = id => id.StartsWith("entity-slow-", StringComparison.Ordinal) },
            new RiskService { FlakyWhen = id => id.StartsWith("entity-flaky-", StringComparison.Ordinal) },
            new EntityService { BrokenWhen = id => id.StartsWith("entity-locked-", StringComparison.Ordinal) });
        var saga = Enrichment.Define(osint, risk, entities);
        var module = new IntelOpsModule();

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Development", ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddAkka("intelops", b =>
        {
            b.WithEventDriven(o =>
            {
                o.EnvironmentFile = $"hocon/{environment}.conf";
                module.Configure(o);
            });
            b.WithEventBus();
            b.WithSagas(s => s.Add(saga));
            b.WithConsoleIndex(); // the console's correlation trace and saga table
        });
        builder.Services.AddEventDrivenHttp(o =>
        {
            module.ConfigureHttp(o);
            o.RequestsPerSecond = 100_000; // one local generator; the limiter is for shared deployments
        });
        var app = builder.Build();
        app.MapEventDriven("/api");
        if (dashboard) app.MapEventDrivenDashboard("/");
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        var live = new LiveSystem(app, address) { Services = (osint, risk, entities) };
        await live.StartWorkAsync(runId);
        return live;
    }

    // Consumers, the read model, the query and the pipelines of this run.
    private async Task StartWorkAsync(string runId)
    {
        var bus = Bus;
        _owned.Add(await bus.SubscribeAsync<Alert>(AlertsTopic, (m, _) =>
        {
            AlertsDelivered.AddOrUpdate(m.Id, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }, new SubscriptionOptions { Durable = true, Group = "triage" }));

        var enrichOptions = new SubscriptionOptions { MaxRetries = 2, RetryBackoff = TimeSpan.FromMilliseconds(20), DeadLetterQueue = EnrichDeadLetters };
        for (var worker = 0; worker < 2; worker++)
            _owned.Add(await bus.ConsumeAsync<EnrichRequest>(EnrichQueue, (m, _) =>
            {
                if (m.Payload.EntityId.StartsWith("entity-poison", StringComparison.Ordinal) && !EnricherFixed)
                    throw new FormatException("malformed OSINT record");
                Enriched.AddOrUpdate(m.Payload.EntityId, 1, (_, n) => n + 1);
                return Task.CompletedTask;
            }, enrichOptions));

        ReadModel = IntelOps.ReadModel.Start(System);
        _owned.Add(ReadModel);
        Queries = new QueryBus(System);
        _owned.Add(Queries);
        var system = System;
        Queries.Register<ActiveInvestigationsPerAnalyst, IReadOnlyDictionary<string, long>>(
            (q, ct) => IntelOps.ReadModel.QueryAsync(system, q, ct),
            new QueryCacheOptions<ActiveInvestigationsPerAnalyst>(TimeSpan.FromMinutes(1), _ => [Investigation.Definition.Name + "-"]));

        Pipelines = new StreamProcessor(System);
        _owned.Add(Pipelines);
        DefineThreatPipelines(runId);
        foreach (var name in Pipelines.Pipelines) await Pipelines.StartAsync(name);
        _owned.Add(await bus.SubscribeAsync<AnalyzedThreat>(ThreatsTopic, (m, _) =>
        {
            Threats.Enqueue(m.Payload);
            return Task.CompletedTask;
        }));
    }

    // The guide's stream processing: findings from the journal to a durable bus topic, severe ones analysed to
    // analyzed.threats, and a per-minute tumbling count of them on event time.
    private void DefineThreatPipelines(string runId)
    {
        var bus = Bus;
        var journal = EventSource.ByTag(System, "Investigation", pollInterval: TimeSpan.FromMilliseconds(100))
            .Where(e => e.PersistenceId.Contains(runId, StringComparison.Ordinal));
        Source<FindingObserved, Task<IBusSubscription>> Findings(string group) =>
            BusStreams.Subscribe<FindingObserved>(bus, FindingsTopic, new SubscriptionOptions { Durable = true, Group = group })
                .Select(m => m.Payload)
                .Where(f => f.InvestigationId.Contains(runId, StringComparison.Ordinal));
        Pipelines.DefinePipeline(Pipeline.Create("findings-to-bus")
            .From(journal)
            .Where(e => e.Event is FindingAdded)
            .Select(e =>
            {
                var finding = ((FindingAdded)e.Event).Finding;
                return new FindingObserved(e.PersistenceId, finding.Summary, finding.Severity, e.Metadata.Timestamp);
            })
            .To(BusStreams.Publish<FindingObserved>(bus, FindingsTopic, new PublishOptions { Persistent = true })));
        Pipelines.DefinePipeline(ThreatStreaming.AnalyzeThreats(Pipeline.Create("threat-analysis").From(Findings("threat-analysis")))
            .To(BusStreams.Publish<AnalyzedThreat>(bus, ThreatsTopic)));
        Pipelines.DefinePipeline(ThreatStreaming.ThreatsPerMinute(Pipeline.Create("threats-per-minute").From(Findings("threats-per-minute")))
            .ForEach(ThreatsPerMinute.Enqueue));
        // With KAFKA_BROKERS set (docker compose up kafka), the analyzed threats also go to the Kafka topic.
        if (Environment.GetEnvironmentVariable("KAFKA_BROKERS") is { Length: > 0 })
            Pipelines.DefinePipeline(Pipeline.Create("threats-to-kafka")
                .From(BusStreams.Subscribe<AnalyzedThreat>(bus, ThreatsTopic).Select(m => m.Payload))
                .Select(t => new Confluent.Kafka.Message<string, string> { Key = t.InvestigationId, Value = global::System.Text.Json.JsonSerializer.Serialize(t) })
                .To(Akka.EventDriven.Kafka.KafkaProducer.Sink(Akka.EventDriven.Kafka.KafkaProducerSettings<string, string>.Create(System), ThreatsTopic)));
    }


    /// <summary>Stops the pipelines gracefully (the open minute's window is emitted).</summary>
    public async Task StopPipelinesAsync()
    {
        foreach (var name in new[] { "findings-to-bus", "threat-analysis", "threats-per-minute", "threats-to-kafka" }.Where(Pipelines.Pipelines.Contains))
            await Pipelines.StopAsync(name);
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            try { await _owned[i].DisposeAsync(); }
            catch (Exception e) { Console.Error.WriteLine($"stopping: {e.GetBaseException().Message}"); }
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}
