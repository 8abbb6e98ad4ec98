using System.Diagnostics;
using Akka.EventDriven.Diagnostics;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Projections.Tests;

/// <summary>Item 6 of issue 13 for projections: a handler call continues the trace of the event it handles; a batch
/// of events of several traces is its own trace, linked to each.</summary>
public sealed class ProjectionTracingSpec
{
    [Fact]
    public async Task An_at_least_once_handler_runs_as_a_child_of_the_command_that_raised_its_event()
    {
        using var collector = new TraceCollector();
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        var id = $"p-{Guid.NewGuid():N}";
        Activity root;
        using (root = collector.StartRoot())
            await node.Ledger.SendAsync(id, new Open("kim"));
        await node.Ledger.SendAsync(id, new Deposit(1m)); // no trace

        var seen = new System.Collections.Concurrent.ConcurrentDictionary<long, (ActivityTraceId, string?)>();
        await using var projection = Projection.AtLeastOnce(node.System, new ProjectionId("traced-alo"), (e, _) =>
        {
            seen[e.SequenceNr] = (Activity.Current?.TraceId ?? default, Activity.Current?.DisplayName);
            return Task.CompletedTask;
        }, new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(20)));
        await TestWait.UntilAsync(() => { Assert.Equal(2, seen.Count); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));

        var command = Assert.Single(collector.Of(EventDrivenTracing.EventSourcing, "Ledger Open"));
        await TestWait.UntilAsync(() => { Assert.Single(collector.Of(EventDrivenTracing.Projections, "projection traced-alo")); return Task.CompletedTask; });
        var handled = Assert.Single(collector.Of(EventDrivenTracing.Projections, "projection traced-alo"));
        Assert.Equal((ActivityKind.Consumer, command.SpanId, root.TraceId), (handled.Kind, handled.ParentSpanId, handled.TraceId));
        Assert.Equal((root.TraceId, "projection traced-alo"), seen[1]);
        Assert.Null(seen[2].Item2); // the untraced event: not this test's trace, not sampled, no activity
    }

    [Fact]
    public async Task A_batch_of_events_of_several_traces_is_a_trace_of_its_own_linked_to_each()
    {
        using var collector = new TraceCollector();
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        var roots = new List<Activity>();
        for (var i = 0; i < 2; i++)
            using (var root = collector.StartRoot())
            {
                roots.Add(root);
                await node.Ledger.SendAsync($"b-{i}-{Guid.NewGuid():N}", new Open("kim"));
            }

        var calls = new System.Collections.Concurrent.ConcurrentQueue<(int Count, ActivityTraceId Trace)>();
        await using var projection = Projection.Grouped(node.System, new ProjectionId("traced-grouped"), (group, _) =>
        {
            calls.Enqueue((group.Count, Activity.Current?.TraceId ?? default));
            return Task.CompletedTask;
        }, new ProjectionSettings(BatchSize: 10, PollInterval: TimeSpan.FromMilliseconds(20)));
        await TestWait.UntilAsync(() => { Assert.Equal(2, calls.Sum(c => c.Count)); return Task.CompletedTask; }, TimeSpan.FromSeconds(30));
        Assert.Equal(2, Assert.Single(calls).Count);

        var commands = collector.Of(EventDrivenTracing.EventSourcing, "Ledger Open");
        await TestWait.UntilAsync(() => { Assert.Single(collector.Of(EventDrivenTracing.Projections, "projection traced-grouped")); return Task.CompletedTask; });
        var batch = Assert.Single(collector.Of(EventDrivenTracing.Projections, "projection traced-grouped"));
        Assert.Equal(default, batch.ParentSpanId);
        Assert.DoesNotContain(batch.TraceId, roots.Select(r => r.TraceId));
        Assert.Equal(batch.TraceId, calls.Single().Trace);
        Assert.Equal(commands.Select(c => c.Id).Order(),
            batch.Links.Select(l => $"00-{l.Context.TraceId}-{l.Context.SpanId}-01").Order());
        Assert.Equal(2, batch.GetTagItem("event_driven.events"));
    }
}
