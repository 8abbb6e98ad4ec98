using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.EventDriven.Diagnostics;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Projections;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

namespace Akka.EventDriven.Http.Tests;

/// <summary>
/// Item 6 of issue 13: one trace from an HTTP command on node A through its event to a projection on node B, the
/// projection's publish, and the bus deliveries to subscribers on both nodes, exported with OpenTelemetry's in-memory
/// exporter (registered by <see cref="EventDrivenTracingExtensions.AddEventDrivenTracing"/>).
/// </summary>
public sealed class TracingSpec
{
    /// <summary>The exporter's target: spans end on many threads.</summary>
    private sealed class Exported : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];
        public void Add(Activity item) { lock (_items) _items.Add(item); }
        public Activity[] Snapshot() { lock (_items) return [.. _items]; }
        public void Clear() { lock (_items) _items.Clear(); }
        public bool Contains(Activity item) { lock (_items) return _items.Contains(item); }
        public void CopyTo(Activity[] array, int arrayIndex) { lock (_items) _items.CopyTo(array, arrayIndex); }
        public bool Remove(Activity item) { lock (_items) return _items.Remove(item); }
        public int Count { get { lock (_items) return _items.Count; } }
        public bool IsReadOnly => false;
        public IEnumerator<Activity> GetEnumerator() => ((IEnumerable<Activity>)Snapshot()).GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [Fact]
    public async Task One_trace_runs_from_an_http_command_on_one_node_to_a_projection_and_bus_subscribers_on_two()
    {
        var store = TestStore.Best();
        var marker = $"tr{Guid.NewGuid():N}"[..14];
        var topic = $"traced.{marker}";
        var exported = new Exported();
        var port = TestWait.FreePort();
        var cluster = $"akka.cluster.seed-nodes = [\"akka.tcp://edtrace@127.0.0.1:{port}\"]\n" +
                      "akka.event-driven.bus.durable { poll-interval = 300ms, heartbeat-interval = 300ms, commit-interval = 100ms }";

        // Node A: the HTTP service, exporting every span of this process's Akka.EventDriven sources and requests.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAkka("edtrace", b =>
        {
            b.WithEventDriven(o =>
            {
                o.EnvironmentFile = "hocon/test.conf";
                o.Registry = LedgerTypes.Current();
                o.Persistence.Provider = store.Provider;
                o.Persistence.ConnectionString = store.ConnectionString;
                o.AddAggregate(Ledger.Definition);
            });
            b.AddHocon($"akka.remote.dot-netty.tcp.port = {port}\n{cluster}", HoconAddMode.Prepend);
            b.WithEventBus();
        });
        builder.Services.AddEventDrivenHttp(o => o.RouteCommands(Ledger.Definition, typeof(Open)));
        builder.Services.AddEventDrivenTracing(t => t.AddInMemoryExporter(exported));
        await using var nodeA = builder.Build();
        nodeA.MapEventDriven();
        await nodeA.StartAsync();
        var address = nodeA.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var systemA = nodeA.Services.GetRequiredService<ActorSystem>();

        await using var nodeB = await NodeHost.StartAsync(store, extraHocon: $"akka.remote.dot-netty.tcp.port = 0\n{cluster}",
            systemName: "edtrace", configure: b => b.WithEventBus());
        await TestWait.UntilAsync(() =>
        {
            foreach (var s in new[] { systemA, nodeB.System })
                Assert.Equal(2, Cluster.Cluster.Get(s).State.Members.Count(m => m.Status == MemberStatus.Up));
            return Task.CompletedTask;
        }, TimeSpan.FromSeconds(30));

        // What each subscriber's handler saw as its current activity.
        var delivered = new ConcurrentDictionary<string, (ActivityTraceId Trace, ActivitySpanId Parent)>();
        SubscriptionOptions Group(string g) => new() { Durable = true, Group = g };
        Func<BusMessage<Opened>, CancellationToken, Task> Record(string node) => (_, _) =>
        {
            delivered[node] = (Activity.Current?.TraceId ?? default, Activity.Current?.ParentSpanId ?? default);
            return Task.CompletedTask;
        };
        await using var onA = await MessageBus.Get(systemA).SubscribeAsync(topic, Record("A"), Group("a"));
        await using var onB = await MessageBus.Get(nodeB.System).SubscribeAsync(topic, Record("B"), Group("b"));

        // Node B projects the Ledger events and publishes each of this test's to the bus.
        var busB = MessageBus.Get(nodeB.System);
        ActivityTraceId projectedIn = default;
        await using var projection = Projection.AtLeastOnce(nodeB.System, new ProjectionId($"trace-{marker}"), async (e, ct) =>
        {
            if (!e.PersistenceId.Contains(marker)) return;
            projectedIn = Activity.Current?.TraceId ?? default;
            await busB.PublishAsync(topic, e.Event, new PublishOptions { Persistent = true }, ct);
        }, new ProjectionSettings(PollInterval: TimeSpan.FromMilliseconds(50), Tag: "Ledger", StartFromEnd: true));
        await projection.WaitUntilCaughtUpAsync(TimeSpan.FromSeconds(30));

        // The command, as a client that is itself traced sends it (W3C traceparent header).
        var trace = ActivityTraceId.CreateRandom();
        var clientSpan = ActivitySpanId.CreateRandom();
        using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/commands")
        {
            Content = JsonContent.Create(new { type = "ledger.open", aggregateId = $"{marker}-1", payload = new { owner = "kim" } }),
        };
        request.Headers.Add("traceparent", $"00-{trace}-{clientSpan}-01");
        var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        await TestWait.UntilAsync(() =>
        {
            Assert.True(delivered.ContainsKey("A") && delivered.ContainsKey("B"));
            return Task.CompletedTask;
        }, TimeSpan.FromSeconds(60));

        Activity[] spans = [];
        Activity Span(string source, string name) => Assert.Single(spans, a => a.Source.Name == source && a.DisplayName == name);
        await TestWait.UntilAsync(() =>
        {
            spans = exported.Snapshot().Where(a => a.TraceId == trace).ToArray();
            Assert.Equal(2, spans.Count(a => a.Source.Name == EventDrivenTracing.EventBus && a.DisplayName == $"process {topic}"));
            return Task.CompletedTask;
        }, TimeSpan.FromSeconds(30));

        // The parent chain: client → HTTP request (A) → command to the aggregate (A) → projection (B) → publish (B) →
        // a delivery on each node.
        var server = Assert.Single(spans, a => a.Kind == ActivityKind.Server && a.Source.Name == "Microsoft.AspNetCore");
        Assert.Equal(clientSpan, server.ParentSpanId);
        var command = Span(EventDrivenTracing.EventSourcing, "Ledger Open");
        Assert.Equal(server.SpanId, command.ParentSpanId);
        var projected = Span(EventDrivenTracing.Projections, $"projection trace-{marker}");
        Assert.Equal((ActivityKind.Consumer, command.SpanId), (projected.Kind, projected.ParentSpanId));
        Assert.Equal($"Ledger-{marker}-1", projected.GetTagItem("event_driven.persistence_id"));
        var publish = Span(EventDrivenTracing.EventBus, $"publish {topic}");
        Assert.Equal((ActivityKind.Producer, projected.SpanId), (publish.Kind, publish.ParentSpanId));
        var deliveries = spans.Where(a => a.DisplayName == $"process {topic}").ToArray();
        Assert.All(deliveries, d => Assert.Equal((ActivityKind.Consumer, publish.SpanId), (d.Kind, d.ParentSpanId)));
        Assert.Equal([$"{topic}/a", $"{topic}/b"], deliveries.Select(d => (string)d.GetTagItem("event_driven.subscriber")!).Order());

        // Each handler ran inside the trace, on its own node.
        Assert.Equal(trace, projectedIn);
        Assert.Equal((trace, publish.SpanId), delivered["A"]);
        Assert.Equal((trace, publish.SpanId), delivered["B"]);

        // And the event itself carries the command's context in its stored metadata.
        var history = await Aggregates.Get(systemA).Repository(Ledger.Definition).GetHistoryAsync($"{marker}-1");
        Assert.Equal(command.Id, Assert.Single(history).Metadata.TraceParent);
    }
}
