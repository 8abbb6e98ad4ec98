using System.Diagnostics;
using Akka.EventDriven.Diagnostics;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.Streams.Dsl;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Akka.EventDriven.Kafka.Tests;

/// <summary>Trace context through Kafka in the W3C <c>traceparent</c> header.</summary>
public sealed class KafkaTracingSpec(MockClusterFixture fixture, ITestOutputHelper output)
    : KafkaSpecBase(fixture, output), IClassFixture<MockClusterFixture>
{
    [Fact]
    public async Task A_consumed_record_continues_the_trace_of_the_activity_it_was_produced_in()
    {
        using var collector = new TraceCollector();
        var topic = Unique("traced");
        _cluster.CreateTopic(topic, partitions: 1);

        Message<Null, string> traced, plain;
        Activity root;
        using (root = collector.StartRoot())
        {
            root.TraceStateString = "k=v";
            traced = new Message<Null, string> { Value = "traced" }.WithTraceContext();
        }
        plain = new Message<Null, string> { Value = "plain" }.WithTraceContext(); // no current activity: nothing added
        Assert.Null(plain.Headers);
        // A message that carries a context already keeps it.
        Assert.Single(traced.WithTraceContext().Headers, h => h.Key == KafkaTracing.TraceParentHeader);

        await Source.From([traced, plain]).RunWith(KafkaProducer.Sink(ProducerSettings(), topic), _materializer).WaitAsync(Wait);
        var records = await KafkaConsumer.PlainSource(ConsumerSettings(Unique("g")), topic).Take(2)
            .RunWith(Sink.Seq<ConsumeResult<Null, string>>(), _materializer).WaitAsync(Wait);

        var first = records.Single(r => r.Message.Value == "traced");
        Assert.Equal(root.Id, first.Message.Headers.TraceParent(out var state));
        Assert.Equal("k=v", state);
        using (var processing = KafkaTracing.StartProcessing(first))
        {
            Assert.NotNull(processing);
            Assert.Equal((root.TraceId, root.SpanId, ActivityKind.Consumer), (processing.TraceId, processing.ParentSpanId, processing.Kind));
            Assert.Equal(EventDrivenTracing.Kafka, processing.Source.Name);
        }
        var second = records.Single(r => r.Message.Value == "plain");
        Assert.Null(second.Message.Headers.TraceParent(out _));
        // Its own trace, which this test's listener does not sample: no activity.
        Assert.Null(KafkaTracing.StartProcessing(second));
    }
}
