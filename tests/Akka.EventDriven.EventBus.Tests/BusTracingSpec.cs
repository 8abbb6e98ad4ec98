using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Akka.EventDriven.Diagnostics;
using Akka.EventDriven.EventBus.Internal;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Item 6 of issue 13 on the bus: the publisher's trace context travels in the envelope (wire and journal) and
/// each delivery continues it; envelopes written before the trace field existed still decode.</summary>
public sealed class BusTracingSpec
{
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private static byte[] Int(int value) => BitConverter.GetBytes(value);
    private static byte[] Str(string s) => [.. Int(Encoding.UTF8.GetByteCount(s)), .. Encoding.UTF8.GetBytes(s)];

    /// <summary>An envelope in the first wire format, built field by field (not with today's encoder).</summary>
    private static byte[] FirstFormat(string? correlation, params (string Key, string Value)[] headers) =>
    [
        .. Str("id-1"), .. Str("intel.threats"), .. Str("test.ping.v1"),
        .. Int(7), .. "{\"n\":1}"u8.ToArray(),
        .. BitConverter.GetBytes(638_000_000_000_000_000L),
        .. correlation is null ? Int(-1) : Str(correlation),
        .. Int(headers.Length), .. headers.SelectMany(h => (byte[])[.. Str(h.Key), .. Str(h.Value)]),
    ];

    [Fact]
    public void Envelopes_of_the_first_wire_format_decode_unchanged_with_no_trace()
    {
        var old = FirstFormat("corr", ("a", "1"), ("ü", "ç"));
        var e = EnvelopeCodec.Decode(old, 1024 * 1024);
        Assert.Equal(("id-1", "intel.threats", "test.ping.v1", 638_000_000_000_000_000L, "corr"),
            (e.Id, e.Topic, e.Type, e.PublishedAtTicks, e.CorrelationId));
        Assert.Equal("{\"n\":1}"u8.ToArray(), e.Data);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["ü"] = "ç" }, e.Headers);
        Assert.Null(e.TraceParent);
        Assert.Null(e.TraceState);
        Assert.Null(EnvelopeCodec.Decode(FirstFormat(null), 1024).TraceParent);

        // Without a trace, today's encoder still writes exactly the first format (older nodes read it as before).
        Assert.Equal(old, EnvelopeCodec.Encode(e with { Wire = null }));
    }

    [Fact]
    public void The_trace_context_round_trips_and_a_later_section_is_skipped()
    {
        var traced = EnvelopeCodec.Decode(FirstFormat("corr"), 1024) with { TraceParent = TraceParent, TraceState = "k=v,x=y" };
        var bytes = EnvelopeCodec.Encode(traced);
        var back = EnvelopeCodec.Decode(bytes, 1024);
        Assert.Equal((TraceParent, "k=v,x=y", "corr"), (back.TraceParent, back.TraceState, back.CorrelationId));
        Assert.Null(EnvelopeCodec.Decode(EnvelopeCodec.Encode(traced with { TraceState = null }), 1024).TraceState);

        // The trace section is appended after the headers: the first format's prefix is unchanged, so an older
        // decoder (which stops after the headers) reads the rest of the message as before.
        Assert.Equal(FirstFormat("corr"), bytes[..FirstFormat("corr").Length]);

        // A section a newer version may add is ignored, not an error.
        byte[] newer = [.. bytes, 42, 1, 2, 3];
        Assert.Equal(TraceParent, EnvelopeCodec.Decode(newer, 1024).TraceParent);

        // A truncated trace section is a clean SerializationException like any malformed frame.
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => EnvelopeCodec.Decode(bytes[..^6], 1024));
    }

    [Fact]
    public async Task Journaled_messages_keep_the_trace_and_those_journaled_before_it_read_without()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var registry = cluster.Bus(0).Registry;
        var traced = new BusEnvelope("id-1", "t", "test.ping.v1", "{\"n\":1}"u8.ToArray(), 1, TraceParent: TraceParent, TraceState: "k=v");
        var json = registry.Serialize(traced, out var type);
        var back = (BusEnvelope)registry.Deserialize(json, type);
        Assert.Equal((TraceParent, "k=v"), (back.TraceParent, back.TraceState));
        Assert.DoesNotContain("trace", Encoding.UTF8.GetString(registry.Serialize(traced with { TraceParent = null, TraceState = null }, out _)),
            StringComparison.OrdinalIgnoreCase);

        // A log entry as durable topics journaled it before tracing existed.
        var old = """{"id":"id-0","topic":"t","type":"test.ping.v1","data":{"n":1},"publishedAtTicks":5,"correlationId":null,"headers":null}"""u8.ToArray();
        var legacy = (BusEnvelope)registry.Deserialize(old, type);
        Assert.Equal(("id-0", 5L), (legacy.Id, legacy.PublishedAtTicks));
        Assert.Null(legacy.TraceParent);
    }

    [Fact]
    public async Task A_durable_delivery_on_another_node_continues_the_publishers_trace()
    {
        using var collector = new TraceCollector();
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 2);
        var topic = $"traced.{Guid.NewGuid():N}";
        var seen = new ConcurrentQueue<(int N, ActivityTraceId Trace, ActivitySpanId Parent, string? Current)>();
        await using var sub = await cluster.Bus(1).SubscribeAsync<Ping>(topic, (m, _) =>
        {
            var current = Activity.Current;
            seen.Enqueue((m.Payload.N, current?.TraceId ?? default, current?.ParentSpanId ?? default, current?.DisplayName));
            return Task.CompletedTask;
        }, new SubscriptionOptions { Durable = true, Group = "traced" });

        Activity root;
        using (root = collector.StartRoot())
            await cluster.Bus(0).PublishAsync(topic, new Ping(1), new PublishOptions { Persistent = true });
        // Published with no trace: its delivery is a trace of its own, not a child of anything.
        await cluster.Bus(0).PublishAsync(topic, new Ping(2), new PublishOptions { Persistent = true });

        await TestWait.UntilAsync(() => { Assert.Equal(2, seen.Select(s => s.N).Distinct().Count()); return Task.CompletedTask; },
            TimeSpan.FromSeconds(30));
        var publish = Assert.Single(collector.Of(EventDrivenTracing.EventBus, $"publish {topic}"));
        Assert.Equal((ActivityKind.Producer, root.SpanId), (publish.Kind, publish.ParentSpanId));
        var delivered = seen.First(s => s.N == 1);
        Assert.Equal((root.TraceId, publish.SpanId, $"process {topic}"), (delivered.Trace, delivered.Parent, delivered.Current));
        await TestWait.UntilAsync(() =>
        {
            var process = Assert.Single(collector.Of(EventDrivenTracing.EventBus, $"process {topic}"));
            Assert.Equal((ActivityKind.Consumer, publish.SpanId, root.TraceId), (process.Kind, process.ParentSpanId, process.TraceId));
            Assert.Equal($"{topic}/traced", process.GetTagItem("event_driven.subscriber"));
            return Task.CompletedTask;
        });
        // Not sampled by this test's listener (another trace), so no activity at all for the untraced message.
        Assert.Null(seen.First(s => s.N == 2).Current);
    }
}
