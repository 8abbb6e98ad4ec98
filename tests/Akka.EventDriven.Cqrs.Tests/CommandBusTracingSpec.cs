using System.Diagnostics;
using Akka.EventDriven.Diagnostics;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Cqrs.Tests;

/// <summary>Item 6 of issue 13: a command executed on the command bus is an activity of the caller's trace, the parent of
/// the aggregate command whose context the events store; a failed outcome marks it as an error.</summary>
public sealed class CommandBusTracingSpec
{
    [Fact]
    public async Task A_command_is_an_activity_under_the_callers_and_over_the_aggregate_send()
    {
        using var collector = new TraceCollector();
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        var id = $"cb-{Guid.NewGuid():N}";
        var bus = new CommandBus()
            .RegisterAggregate<Open, LedgerState>(node.Ledger, _ => id)
            .RegisterAggregate<Withdraw, LedgerState>(node.Ledger, _ => id);

        Activity root;
        using (root = collector.StartRoot())
        {
            Assert.True((await bus.ExecuteAsync(new Open("ann"))).Success);
            Assert.False((await bus.ExecuteAsync(new Withdraw(5m))).Success);
        }

        var open = Assert.Single(collector.Of(EventDrivenTracing.Cqrs, "command Open"));
        Assert.Equal((root.TraceId, root.SpanId, ActivityStatusCode.Unset), (open.TraceId, open.ParentSpanId, open.Status));
        var send = Assert.Single(collector.Of(EventDrivenTracing.EventSourcing, "Ledger Open"));
        Assert.Equal(open.SpanId, send.ParentSpanId);
        Assert.Equal(send.Id, Assert.Single(await node.Ledger.GetHistoryAsync(id)).Metadata.TraceParent);

        var withdraw = Assert.Single(collector.Of(EventDrivenTracing.Cqrs, "command Withdraw"));
        Assert.Equal((ActivityStatusCode.Error, "Rejected"), (withdraw.Status, withdraw.GetTagItem("event_driven.error_kind")));
    }
}
