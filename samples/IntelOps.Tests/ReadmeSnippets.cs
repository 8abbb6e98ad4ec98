#region usings
using Akka.EventDriven;
using IntelOps.Domain;
#endregion
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.TestKit;

namespace IntelOps.Tests;

/// <summary>README code on the sample's Investigation aggregate (regions checked against the README by
/// ReadmeSnippetsSpec), on a test node.</summary>
public sealed class ReadmeSnippets : EventDrivenTestKit
{
    protected override void ConfigureEventDriven(EventDrivenOptions o) =>
        o.RegisterTypes(typeof(Investigation).Assembly).AddAggregate(Investigation.Definition);

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
}
