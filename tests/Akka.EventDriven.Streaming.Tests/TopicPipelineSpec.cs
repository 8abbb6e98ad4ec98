#region usings
using Akka.EventDriven.EventBus;
using Akka.EventDriven.Streaming;
#endregion
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.TestKit;

namespace Akka.EventDriven.Streaming.Tests;

[EventType("pipeline.raw-threat", 1)] public sealed record RawThreat(int Id, int Severity, string Category, DateTimeOffset At);
[EventType("pipeline.threat-verdict", 1)] public sealed record ThreatVerdict(int Id, string Verdict);
[EventType("pipeline.threat-count", 1)] public sealed record ThreatCount(string Category, DateTimeOffset Start, long Count);

/// <summary>Topic-to-topic pipelines: <see cref="Pipeline.FromTopic{T}"/> … <see cref="PipelineBuilder{T}.ToTopic"/>.</summary>
public sealed class TopicPipelineSpec : EventDrivenTestKit
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    protected override void ConfigureEventDriven(EventDrivenOptions o) => o.RegisterTypes(typeof(TopicPipelineSpec).Assembly);

    [Fact]
    public async Task A_durable_group_is_filtered_and_mapped_onto_another_topic_and_the_pipeline_counts_what_it_did()
    {
        var (raw, analyzed) = (Unique("raw.threats"), Unique("analyzed.threats"));
        await using var output = await SubscribeProbeAsync<ThreatVerdict>(analyzed, new SubscriptionOptions { Durable = true, Group = "check" });
        await using var processor = new StreamProcessor(Sys);
        #region topic-pipeline
        processor.DefinePipeline(
            Pipeline.FromTopic<RawThreat>("threat-analysis", Bus, raw, new SubscriptionOptions { Durable = true, Group = "analysis" })
                .Where(t => t.Severity >= 7)
                .Select(t => new ThreatVerdict(t.Id, t.Severity >= 9 ? "critical" : "high"))
                .ToTopic(Bus, analyzed, new PublishOptions { Persistent = true, PartitionKey = "all" }, parallelism: 1));
        #endregion

        // Published before the pipeline starts: the durable group reads them from the topic's log.
        var severities = new[] { 3, 9, 7, 1, 8, 2, 10, 6 };
        for (var i = 0; i < 4; i++) await Publish(raw, i + 1, severities[i]);
        await processor.StartAsync("threat-analysis");
        for (var i = 4; i < severities.Length; i++) await Publish(raw, i + 1, severities[i]);

        var received = await output.ReceiveNAsync(4, TimeSpan.FromSeconds(30));
        Assert.Equal([(2, "critical"), (3, "high"), (5, "high"), (7, "critical")], received.Select(m => (m.Payload.Id, m.Payload.Verdict)));
        await output.ExpectNoMessageAsync(TimeSpan.FromMilliseconds(300));
        var metrics = processor.GetMetrics("threat-analysis");
        Assert.Equal((PipelineStatus.Running, 8L, 4L), (metrics.Status, metrics.ElementsIn, metrics.ElementsOut));

        // Stopping the pipeline disposes its subscription: later messages wait in the group for the next start.
        await processor.StopAsync("threat-analysis");
        await Publish(raw, 9, 9);
        await output.ExpectNoMessageAsync(TimeSpan.FromMilliseconds(300));
        await processor.StartAsync("threat-analysis");
        var resumed = await output.ExpectMessageAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((9, "critical"), (resumed.Payload.Id, resumed.Payload.Verdict));
    }

    [Fact]
    public async Task An_event_time_window_is_a_step_between_two_topics()
    {
        var (raw, counts) = (Unique("raw.threats"), Unique("threat.counts"));
        await using var output = await SubscribeProbeAsync<ThreatCount>(counts, new SubscriptionOptions { Durable = true, Group = "check" });
        await using var processor = new StreamProcessor(Sys);
        processor.DefinePipeline(
            Pipeline.FromTopic<RawThreat>("threats-per-minute", Bus, raw, new SubscriptionOptions { Durable = true, Group = "windows" })
                .TumblingWindow(TimeSpan.FromMinutes(1), t => t.Category, Aggregators.Count<RawThreat>(),
                    new WindowOptions<RawThreat> { EventTime = t => t.At })
                .Select(w => new ThreatCount(w.Key, w.Start, w.Value))
                .ToTopic(Bus, counts, new PublishOptions { Persistent = true, PartitionKey = "all" }, parallelism: 1));
        await processor.StartAsync("threats-per-minute");

        // Minute 0: two malware, one phishing (out of order within the minute); then an event at minute 2 moves the
        // watermark past minute 0's end, which closes its windows.
        await Publish(raw, 1, 5, "malware", T0.AddSeconds(10));
        await Publish(raw, 2, 5, "phishing", T0.AddSeconds(40));
        await Publish(raw, 3, 5, "malware", T0.AddSeconds(5));
        await output.ExpectNoMessageAsync(TimeSpan.FromMilliseconds(300)); // minute 0 is still open
        await Publish(raw, 4, 5, "malware", T0.AddMinutes(2));

        var closed = await output.ReceiveNAsync(2, TimeSpan.FromSeconds(30));
        Assert.Equal([("malware", T0, 2L), ("phishing", T0, 1L)],
            closed.Select(m => (m.Payload.Category, m.Payload.Start, m.Payload.Count)).OrderBy(c => c.Category));
    }

    [Fact]
    public void Bad_topic_names_and_arguments_fail_when_the_pipeline_is_defined()
    {
        var bad = Assert.Throws<ArgumentException>(() => Pipeline.FromTopic<RawThreat>("p", Bus, "no spaces allowed"));
        Assert.Contains("topic", bad.Message, StringComparison.OrdinalIgnoreCase);
        var start = Pipeline.FromTopic<RawThreat>("p", Bus, "intel.*");
        Assert.Throws<ArgumentException>(() => start.ToTopic(Bus, "intel.*"));
        Assert.Throws<ArgumentOutOfRangeException>(() => start.ToTopic(Bus, "out", parallelism: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pipeline.FromTopic<RawThreat>("p", Bus, "in", bufferSize: 0));
        Assert.Throws<ArgumentNullException>(() => Pipeline.FromTopic<RawThreat>("p", null!, "in"));
    }

    private Task Publish(string topic, int id, int severity, string category = "malware", DateTimeOffset? at = null) =>
        Bus.PublishAsync(topic, new RawThreat(id, severity, category, at ?? T0), new PublishOptions { Persistent = true, PartitionKey = "all" });
}
