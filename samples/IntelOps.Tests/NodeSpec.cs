#region usings
using Akka.EventDriven.EventBus;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Sagas;
using Akka.EventDriven.TestKit;
using Akka.Hosting;
using IntelOps.Domain;
#endregion

namespace IntelOps.Tests;

#region testkit-node
// A test node on a store of its own: a new SQLite file (a new PostgreSQL database when DATABASE_URL is set), fast
// cluster timings, node and store removed after each test.
public sealed class NodeSpec : EventDrivenTestKit
{
    private readonly EntityService _entities = new();
    private readonly OsintService _osint = new();

    protected override void ConfigureEventDriven(EventDrivenOptions o) =>
        o.RegisterTypes(typeof(Investigation).Assembly).AddAggregate(Investigation.Definition);

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder) =>
        builder.WithSagas(s => s.Add(Enrichment.Define(_osint, new RiskService(), _entities)));

    [Fact]
    public async Task The_read_model_counts_active_investigations_per_analyst()
    {
        var run = Unique("run");
        await ExpectAcceptedAsync(Investigation.Definition, $"{run}-1", new StartInvestigation("APT29", "ana"));
        await ExpectAcceptedAsync(Investigation.Definition, $"{run}-2", new StartInvestigation("APT28", "ana"));
        await ExpectAcceptedAsync(Investigation.Definition, $"{run}-2", new CloseInvestigation("attributed"));
        await using var projection = ReadModel.Start(Sys);
        var query = new ActiveInvestigationsPerAnalyst($"{Investigation.Definition.Name}-{run}-");
        await ProjectionProbe(projection).AssertReadModelAsync(async ct =>
            Assert.Equal(new Dictionary<string, long> { ["ana"] = 1 }, await ReadModel.QueryAsync(Sys, query, ct)));
    }

    [Fact]
    public async Task A_closed_case_on_the_bus_reaches_a_subscriber()
    {
        var topic = Unique("intel.cases-closed");
        await using var probe = await SubscribeProbeAsync<CaseClosed>(topic);
        await Bus.PublishAsync(topic, new CaseClosed("inv-1", "ana", 3));
        await probe.ExpectMessageAsync(new CaseClosed("inv-1", "ana", 3));
        await probe.ExpectNoMessageAsync(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task An_entity_store_that_rejects_the_update_makes_the_saga_compensate_the_fetch()
    {
        var entity = Unique("entity");
        _entities.Broken[entity] = true;
        var sagas = SagaProbe();
        var id = await sagas.Orchestrator.ExecuteAsync("entity-enrichment", new EnrichmentData { EntityId = entity });
        (await sagas.ExpectStateAsync(id, SagaState.Compensated))
            .WithCompletedSteps("fetch-osint", "analyze-risk")
            .WithCompensations("fetch-osint")
            .WithFailedAttempts("update-entity", 2);
        Assert.Equal(1, _osint.Cleanups[entity]);
    }
}
#endregion
