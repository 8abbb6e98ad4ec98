#region usings
using Akka.EventDriven;
using IntelOps.Domain;
#endregion
#region usings-wiring
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Hosting;
using Akka.Hosting;
#endregion
#region usings-sagas
using Akka.EventDriven.Sagas;
using IntelOps;
#endregion
#region usings-streaming
using Akka.EventDriven.EventBus;
using Akka.EventDriven.Streaming;
using Akka.Streams.Dsl;
#endregion
using System.Collections.Concurrent;
using Akka;
using Akka.Actor;
using Akka.EventDriven.TestKit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IntelOps.Tests;

/// <summary>README code on the sample's Investigation aggregate, its enrichment saga and its pipelines (regions checked
/// against the README by ReadmeSnippetsSpec), on a test node.</summary>
public sealed class ReadmeSnippets : EventDrivenTestKit
{
    private readonly OsintService _osint = new();
    private readonly EntityService _entities = new();

    protected override void ConfigureEventDriven(EventDrivenOptions o) =>
        o.RegisterTypes(typeof(Investigation).Assembly).AddAggregate(Investigation.Definition);

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder)
    {
        #region saga-hosting
        var definition = Enrichment.Define(osint: _osint, risk: new RiskService(), entities: _entities);   // the definition above
        builder.WithSagas(s => s.Add(definition));   // after WithEventDriven(...), on every node
        #endregion
    }

    [Fact]
    public async Task A_command_sent_again_with_its_command_id_is_decided_once()
    {
        var repo = Aggregates.Get(Sys).Repository(Investigation.Definition);
        Assert.True((await repo.SendAsync("inv-123", new StartInvestigation("APT29", "analyst-1"))).IsAccepted);

        #region idempotent-command
        var once = new CommandOptions { CommandId = "finding-7f3a" };
        var first = await repo.SendAsync("inv-123", new AddFinding("C2 beacon", 8), once);
        var again = await repo.SendAsync("inv-123", new AddFinding("C2 beacon", 8), once);
        // again.Version == first.Version: one finding stored
        #endregion

        Assert.True(first.IsAccepted);
        Assert.Equal(2, first.Version);
        Assert.Equal(first.Version, again.Version);
        var state = await repo.GetStateAsync("inv-123");
        Assert.Equal((2L, 1), (state.Version, state.State.Findings.Count));
    }

    [Fact]
    public async Task The_enrichment_saga_runs_to_completion_and_its_status_and_data_are_read_back()
    {
        var system = Sys;

        #region saga-run
        var sagas = SagaOrchestrator.Get(system);
        string id = await sagas.ExecuteAsync("entity-enrichment", new EnrichmentData { EntityId = "entity-123" });
        SagaStatus status = await sagas.WaitForCompletionAsync(id, TimeSpan.FromSeconds(30));
        // status.State: Running, Completed, Compensating, Compensated or Failed; CurrentStep, CompletedSteps,
        // CompensatedSteps, Reason, History (every attempt: step, attempt number, error, timed out, timestamp)
        EnrichmentData data = sagas.DataOf<EnrichmentData>(status);
        SagaStatus? now = await sagas.GetStatusAsync(id);            // null for an unknown id
        #endregion

        Assert.Equal(SagaState.Completed, status.State);
        Assert.Equal(["fetch-osint", "analyze-risk", "update-entity"], status.CompletedSteps);
        Assert.Equal("entity-123", data.EntityId);
        Assert.NotNull(data.Osint);
        Assert.NotNull(data.RiskScore);
        Assert.Equal($"risk={data.RiskScore}; {data.Osint}", _entities.Records["entity-123"]);
        Assert.Equal(SagaState.Completed, now?.State);
        Assert.Null(await sagas.GetStatusAsync("no-such-saga"));
    }

    [Fact]
    public async Task The_pipelines_carry_severe_findings_from_the_journal_to_the_bus_and_count_them_per_minute()
    {
        var system = Sys;
        var perMinute = new ConcurrentQueue<WindowResult<NotUsed, long>>();
        await using var analyzedProbe = await SubscribeProbeAsync<AnalyzedThreat>("analyzed.threats");

        #region streaming-pipelines
        var bus = MessageBus.Get(system);
        Source<FindingObserved, Task<IBusSubscription>> Findings(string group) =>   // a durable bus topic, one group per pipeline
            BusStreams.Subscribe<FindingObserved>(bus, "intel.findings", new SubscriptionOptions { Durable = true, Group = group })
                .Select(m => m.Payload);

        await using var processor = new StreamProcessor(system);          // or StreamingExtension.Get(system) / WithStreaming(...)
        processor.DefinePipeline(Pipeline.Create("findings-to-bus")       // the journal, by tag, onto the bus topic
            .From(EventSource.ByTag(system, "Investigation"))
            .Where(e => e.Event is FindingAdded)
            .Select(e => { var f = ((FindingAdded)e.Event).Finding; return new FindingObserved(e.PersistenceId, f.Summary, f.Severity, e.Metadata.Timestamp); })
            .To(BusStreams.Publish<FindingObserved>(bus, "intel.findings", new PublishOptions { Persistent = true })));
        processor.DefinePipeline(Pipeline.Create("threat-analysis")       // the guide's pipeline: filter, enrich, to analyzed.threats
            .From(Findings("threat-analysis"))
            .Where(f => f.Severity >= 7)
            .Select(f => new AnalyzedThreat(f.InvestigationId, f.Summary, f.Severity, f.Severity >= 9 ? "critical" : "high", f.At))
            .To(BusStreams.Publish<AnalyzedThreat>(bus, "analyzed.threats")));
        processor.DefinePipeline(Pipeline.Create("threats-per-minute")    // a per-minute tumbling count in event time
            .From(Findings("threats-per-minute"))
            .Where(f => f.Severity >= 7)
            .TumblingWindow(TimeSpan.FromMinutes(1), Aggregators.Count<FindingObserved>(),
                new WindowOptions<FindingObserved> { EventTime = f => f.At, MaxOutOfOrderness = TimeSpan.FromSeconds(5), ValueUnit = "threats" })
            .ForEach(perMinute.Enqueue));
        foreach (var pipeline in new[] { "findings-to-bus", "threat-analysis", "threats-per-minute" })
            await processor.StartAsync(pipeline);
        #endregion

        await ExpectAcceptedAsync(Investigation.Definition, "inv-1", new StartInvestigation("APT29", "ana"));
        await ExpectAcceptedAsync(Investigation.Definition, "inv-1", new AddFinding("C2 beacon", 9));
        await ExpectAcceptedAsync(Investigation.Definition, "inv-1", new AddFinding("port scan", 3));
        await ExpectAcceptedAsync(Investigation.Definition, "inv-1", new AddFinding("phishing kit", 7));
        var threats = await analyzedProbe.ReceiveNAsync(2, TimeSpan.FromSeconds(30));
        Assert.Equal([("C2 beacon", "critical"), ("phishing kit", "high")],
            threats.Select(t => (t.Payload.Summary, t.Payload.Category)));
        Assert.All(threats, t => Assert.Equal("Investigation-inv-1", t.Payload.InvestigationId));
        await analyzedProbe.ExpectNoMessageAsync(TimeSpan.FromMilliseconds(300));   // the severity 3 finding is not a threat
        // The window pipeline has seen both severe findings before it is stopped (its counter), then emits its open window.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (processor.GetMetrics("threats-per-minute").ElementsIn < 3 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(3, processor.GetMetrics("threats-per-minute").ElementsIn);

        #region streaming-stop
        await processor.StopAsync("threats-per-minute");     // graceful: the source stops, in-flight elements drain, open windows emit
        #endregion

        Assert.Equal(2L, perMinute.Sum(w => w.Value));
    }

    /// <summary>The README's wiring, verbatim, on hocon/development.conf (one node, its SQLite file data/intelops.db under
    /// the working directory, emptied first so the README's ExpectedVersion = 0 holds).</summary>
    [Fact]
    public async Task The_readme_wiring_runs_a_node_on_the_development_environment()
    {
        foreach (var file in new[] { "data/intelops.db", "data/intelops.db-wal", "data/intelops.db-shm" })
            if (File.Exists(file)) File.Delete(file);
        using var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            .ConfigureServices(services =>
            {
                #region wiring
                services.AddAkka("intelops", builder => builder
                    .WithEventDriven(o =>
                    {
                        o.EnvironmentFile = "hocon/development.conf";
                        o.RegisterTypes(typeof(Investigation).Assembly);               // every [EventType] type
                        o.AddAggregate(Investigation.Definition, a => a.SnapshotEvery = 5);
                    }));
                #endregion
            })
            .Build();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();

            #region repository
            var repo = Aggregates.Get(system).Repository(Investigation.Definition);
            CommandResult result = await repo.SendAsync("inv-123", new StartInvestigation("APT29", "analyst-1"),
                new CommandOptions { CorrelationId = "case-7", ExpectedVersion = 0 });
            // CommandAccepted(AggregateId, Version, Events) once the events are durable, or CommandRejected(..., Reason)
            await repo.SendAsync("inv-123", new AddFinding("C2 beacon", 8));
            AggregateState<InvestigationState> now = await repo.GetStateAsync("inv-123");
            IReadOnlyList<EventRecord> trail = await repo.GetHistoryAsync("inv-123");   // seq nr, type name, metadata
            AggregateState<InvestigationState> then = await repo.GetStateAtAsync("inv-123", version: 1);
            #endregion

            Assert.Equal(1, Assert.IsType<CommandAccepted>(result).Version);
            Assert.Equal((2L, InvestigationStatus.Active, 1), (now.Version, now.State.Status, now.State.Findings.Count));
            Assert.Equal([1L, 2L], trail.Select(e => e.SequenceNr));
            Assert.IsType<InvestigationStarted>(trail[0].Event);
            Assert.Equal("case-7", trail[0].Metadata.CorrelationId);
            Assert.IsType<FindingAdded>(trail[1].Event);
            Assert.Equal((1L, 0), (then.Version, then.State.Findings.Count));
            Assert.True(File.Exists("data/intelops.db"));
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
