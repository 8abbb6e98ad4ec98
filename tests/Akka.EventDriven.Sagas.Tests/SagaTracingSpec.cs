using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.EventDriven.Diagnostics;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.Sagas.Tests;

/// <summary>Item 6 of issue 13 for sagas: each step runs in an activity of the trace the saga was started in, and the
/// trace context is journaled with the saga's events.</summary>
public sealed class SagaTracingSpec
{
    private static readonly ConcurrentDictionary<(string SagaId, string Step), (ActivityTraceId Trace, ActivitySpanId Parent, string? Name)> Seen = new();

    private static Task Capture(SagaContext<OrderData> ctx)
    {
        var current = Activity.Current;
        Seen[(ctx.SagaId, ctx.StepId)] = (current?.TraceId ?? default, current?.ParentSpanId ?? default, current?.DisplayName);
        return Task.CompletedTask;
    }

    private static readonly SagaDefinition<OrderData> Traced = SagaDefinition.Define<OrderData>("test-traced", s => s
        .Step("reserve", "Reserve", (ctx, _) => Capture(ctx))
        .Step("charge", "Charge", (ctx, _) => Capture(ctx)));

    [Fact]
    public async Task Every_step_is_an_activity_of_the_trace_the_saga_was_started_in()
    {
        using var collector = new TraceCollector();
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite(), configure: b => b.WithSagas(s =>
        {
            s.Add(Traced);
            s.IndexTable = $"saga_index_{Guid.NewGuid():N}"[..24];
        }));
        var sagas = SagaOrchestrator.Get(node.System);

        string id;
        Activity root;
        using (root = collector.StartRoot())
            id = await sagas.ExecuteAsync(Traced.Name, new OrderData { OrderId = "o-1" });
        Assert.Equal(SagaState.Completed, (await sagas.WaitForCompletionAsync(id, TimeSpan.FromSeconds(30))).State);

        var start = Assert.Single(collector.Of(EventDrivenTracing.Sagas, "saga start test-traced"));
        Assert.Equal((ActivityKind.Producer, root.SpanId, root.TraceId), (start.Kind, start.ParentSpanId, start.TraceId));
        await TestWait.UntilAsync(() =>
        {
            Assert.Equal(2, collector.Of(EventDrivenTracing.Sagas, "saga test-traced step").Count);
            return Task.CompletedTask;
        });
        foreach (var step in new[] { "reserve", "charge" })
        {
            var activity = Assert.Single(collector.Of(EventDrivenTracing.Sagas, $"saga test-traced step {step}"));
            Assert.Equal((start.SpanId, root.TraceId, id), (activity.ParentSpanId, activity.TraceId, activity.GetTagItem("event_driven.saga_id")));
            // The step's own code runs with that activity current.
            Assert.Equal((root.TraceId, start.SpanId, activity.DisplayName), Seen[(id, step)]);
        }
    }

    [Fact]
    public async Task A_saga_started_with_no_trace_runs_its_steps_outside_any()
    {
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite(), configure: b => b.WithSagas(s =>
        {
            s.Add(Traced);
            s.IndexTable = $"saga_index_{Guid.NewGuid():N}"[..24];
        }));
        var sagas = SagaOrchestrator.Get(node.System);
        Assert.Null(Activity.Current);

        var id = await sagas.ExecuteAsync(Traced.Name, new OrderData { OrderId = "o-2" });

        Assert.Equal(SagaState.Completed, (await sagas.WaitForCompletionAsync(id, TimeSpan.FromSeconds(30))).State);
        Assert.Null(Seen[(id, "reserve")].Name);
        Assert.Null(Seen[(id, "charge")].Name);
    }
}
