using Akka.EventDriven.Hosting;
using Akka.EventDriven.Http;
using IntelOps.Domain;

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
            typeof(StartInvestigation), typeof(AddFinding), typeof(LinkEntity), typeof(CloseInvestigation));
}
