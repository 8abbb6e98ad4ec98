using Akka.Actor;
using Akka.EventDriven.Cqrs;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Http;
using Akka.EventDriven.Serialization;
using IntelOps.Domain;
using Microsoft.Extensions.DependencyInjection;

namespace IntelOps;

/// <summary>The IntelOps domain as a module of the standalone service: the Investigation aggregate and its commands
/// over HTTP. <c>EVENTDRIVEN_MODULES=samples/IntelOps/bin/Release/net10.0/IntelOps.dll dotnet run --project src/Akka.EventDriven.Service</c>.
/// The sample's own main job (Program.cs) does not use it.</summary>
public sealed class IntelOpsModule : IEventDrivenModule
{
    public string Name => "intelops";

    public void Configure(EventDrivenOptions options) =>
        options.RegisterTypes(typeof(Investigation).Assembly)
            .AddAggregate(Investigation.Definition, a => a.SnapshotEvery = 100);

    public void ConfigureHttp(EventDrivenHttpOptions options) =>
        options.RouteCommands(Investigation.Definition,
                typeof(StartInvestigation), typeof(AddFinding), typeof(LinkEntity), typeof(CloseInvestigation))
            // POST /api/queries {"type":"investigation.summary","payload":{"investigationId":"inv-42"}}: cached until
            // the next event of that investigation is projected.
            .RegisterQueries((bus, services) => bus.Register<GetInvestigationSummary, InvestigationSummary>(async (q, ct) =>
                {
                    var repository = Aggregates.Get(services.GetRequiredService<ActorSystem>()).Repository(Investigation.Definition);
                    var current = await repository.GetStateAsync(q.InvestigationId, ct);
                    var state = current.State;
                    return new InvestigationSummary(q.InvestigationId, state.Status.ToString(), state.Title, state.Analyst,
                        state.Findings.Count, state.Findings.Count == 0 ? 0 : state.Findings.Max(f => f.Severity), current.Version);
                },
                new QueryCacheOptions<GetInvestigationSummary>(TimeSpan.FromMinutes(1),
                    q => [PersistenceIds.For(Investigation.Definition.Name, q.InvestigationId)])));
}

/// <summary>Query: one investigation's summary (its status, analyst, findings and version).</summary>
[EventType("investigation.summary", 1)] public sealed record GetInvestigationSummary(string InvestigationId);

/// <summary>The answer to <see cref="GetInvestigationSummary"/>.</summary>
public sealed record InvestigationSummary(string InvestigationId, string Status, string? Title, string? Analyst, int Findings,
    int MaxSeverity, long Version);
