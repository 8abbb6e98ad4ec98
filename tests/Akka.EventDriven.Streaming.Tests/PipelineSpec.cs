using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.TestKit;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Xunit.Abstractions;

namespace Akka.EventDriven.Streaming.Tests;

public sealed record Threat(string Id, int Severity, string Source);

public sealed record AnalyzedThreat(string Id, int Severity, string Category);

public sealed class PipelineSpec : Akka.TestKit.Xunit2.TestKit
{
    public PipelineSpec(ITestOutputHelper output) : base(output: output) { }

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Pipeline_filters_enriches_and_delivers_to_its_sink_and_counts_elements()
    {
        await using var processor = new StreamProcessor(Sys);
        var analyzed = new ConcurrentQueue<AnalyzedThreat>();
        var threats = Enumerable.Range(1, 20).Select(i => new Threat($"t{i}", i % 10, i % 2 == 0 ? "osint" : "sigint")).ToList();

        var pipeline = Pipeline.Create("threat-analysis")
            .From(Source.From(threats))
            .Where(t => t.Severity >= 7)
            .Select(t => new AnalyzedThreat(t.Id, t.Severity, t.Source == "osint" ? "open" : "signals"))
            .ForEach(analyzed.Enqueue);
        processor.DefinePipeline(pipeline);
        Assert.Equal(PipelineStatus.Defined, processor.GetStatus("threat-analysis"));
        await processor.StartAsync("threat-analysis");
        await processor.WhenTerminated("threat-analysis").WaitAsync(Wait);

        Assert.Equal(threats.Where(t => t.Severity >= 7).Select(t => t.Id), analyzed.Select(a => a.Id));
        Assert.All(analyzed, a => Assert.Equal(a.Severity % 2 == 0 ? "open" : "signals", a.Category));
        var metrics = processor.GetMetrics("threat-analysis");
        Assert.Equal((PipelineStatus.Completed, 20L, 6L, 0L), (metrics.Status, metrics.ElementsIn, metrics.ElementsOut, metrics.Errors));
    }

    [Fact]
    public async Task Operators_select_many_select_async_group_by_and_batch_compose()
    {
        var results = await Pipeline.Create("ops")
            .From(Source.From(Enumerable.Range(1, 10)))
            .SelectMany(x => new[] { x, x })                       // 1,1,2,2,...
            .SelectAsync(4, async x => { await Task.Yield(); return x * 10; })
            .GroupBy(2, x => x % 20 == 0, Flow.Create<int>().Aggregate(0, (sum, x) => sum + x))
            .Throttle(1000, TimeSpan.FromSeconds(1), 1000)
            .Batch(10, TimeSpan.FromSeconds(1))
            .AsSource()
            .RunWith(Sink.Seq<IReadOnlyList<int>>(), Sys.Materializer());
        var sums = results.SelectMany(b => b).Order().ToArray();
        Assert.Equal(new[] { 2 * 10 * (1 + 3 + 5 + 7 + 9), 2 * 10 * (2 + 4 + 6 + 8 + 10) }, sums);

        var batches = await Pipeline.Create("batches").From(Source.From(Enumerable.Range(1, 5))).Batch(2, TimeSpan.FromSeconds(5)).AsSource()
            .RunWith(Sink.Seq<IReadOnlyList<int>>(), Sys.Materializer());
        Assert.Equal(new[] { "1,2", "3,4", "5" }, batches.Select(b => string.Join(",", b)).ToArray());
    }

    [Fact]
    public async Task Resume_supervision_skips_failing_elements_and_counts_them()
    {
        await using var processor = new StreamProcessor(Sys);
        var seen = new ConcurrentQueue<int>();
        processor.DefinePipeline(Pipeline.Create("resume")
            .From(Source.From(Enumerable.Range(1, 6)))
            .Select(x => x == 3 || x == 5 ? throw new InvalidOperationException($"bad {x}") : x)
            .ForEach(seen.Enqueue)
            .WithSupervision(PipelineSupervision.Resume));
        await processor.StartAsync("resume");
        await processor.WhenTerminated("resume").WaitAsync(Wait);

        Assert.Equal(new[] { 1, 2, 4, 6 }, seen.ToArray());
        var m = processor.GetMetrics("resume");
        Assert.Equal((PipelineStatus.Completed, 2L, "bad 5"), (m.Status, m.Errors, m.LastError));
    }

    [Fact]
    public async Task Stop_supervision_fails_the_pipeline_on_the_first_error()
    {
        await using var processor = new StreamProcessor(Sys);
        var seen = new ConcurrentQueue<int>();
        processor.DefinePipeline(Pipeline.Create("stop")
            .From(Source.From(Enumerable.Range(1, 6)))
            .Where(x => x == 3 ? throw new InvalidOperationException("boom") : true)
            .ForEach(seen.Enqueue));
        await processor.StartAsync("stop");
        await processor.WhenTerminated("stop").WaitAsync(Wait);

        Assert.Equal(new[] { 1, 2 }, seen.ToArray());
        var m = processor.GetMetrics("stop");
        Assert.Equal((PipelineStatus.Failed, 1L, 0L, "boom"), (m.Status, m.Errors, m.Restarts, m.LastError));
    }

    [Fact]
    public async Task Restart_supervision_rematerializes_the_source_after_a_backoff()
    {
        await using var processor = new StreamProcessor(Sys);
        var runs = 0;
        var seen = new ConcurrentQueue<(int Run, int X)>();
        // Each materialization is a new run; the first two fail at their third element.
        var source = Source.FromEnumerator(() =>
        {
            var run = Interlocked.Increment(ref runs);
            return Enumerable.Range(1, 4).Select(x => run < 3 && x == 3 ? throw new IOException("connection lost") : (run, x)).GetEnumerator();
        });
        processor.DefinePipeline(Pipeline.Create("restart").From(source).ForEach(seen.Enqueue)
            .WithSupervision(PipelineSupervision.RestartWithBackoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(40))));
        await processor.StartAsync("restart");
        await processor.WhenTerminated("restart").WaitAsync(Wait);

        Assert.Equal(new[] { (1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3), (3, 4) }, seen.ToArray());
        var m = processor.GetMetrics("restart");
        Assert.Equal((PipelineStatus.Completed, 2L, 2L), (m.Status, m.Errors, m.Restarts));
    }

    [Fact]
    public async Task A_slow_sink_bounds_the_elements_taken_from_the_source()
    {
        await using var processor = new StreamProcessor(Sys);
        long pulled = 0;
        var gate = new TaskCompletionSource();
        var handled = 0;
        var ranAhead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); // must not happen
        var source = Source.From(Enumerable.Range(1, 1_000_000)).Select(x =>
        {
            if (Interlocked.Increment(ref pulled) > 64) ranAhead.TrySetResult();
            return x;
        }).Async();
        processor.DefinePipeline(Pipeline.Create("slow").From(source).Select(x => x + 1)
            .ForEachAsync(1, async _ => { Interlocked.Increment(ref handled); await gate.Task; }));
        await processor.StartAsync("slow");

        await AwaitConditionAsync(() => Task.FromResult(Volatile.Read(ref handled) == 1), Wait);
        // The sink holds its first element. Absence check: give the source every chance to run ahead past the input
        // buffers, which must not happen; then check how far it went.
        await TestWait.NeverWithinAsync(() => ranAhead.Task.IsCompleted, TimeSpan.FromSeconds(1),
            () => $"the source ran ahead of a blocked sink: {Interlocked.Read(ref pulled)} elements pulled");
        var taken = Interlocked.Read(ref pulled);
        Assert.InRange(taken, 1, 64);                       // input buffers only (16 per async boundary by default)
        gate.SetResult();
        await processor.StopAsync("slow");
        Assert.Equal(PipelineStatus.Stopped, processor.GetStatus("slow"));
    }

    [Fact]
    public async Task Stopping_drains_in_flight_elements_and_flushes_open_windows()
    {
        await using var processor = new StreamProcessor(Sys);
        var probe = new TaskCompletionSource<TestPublisher.Probe<Reading>>();
        var results = new ConcurrentQueue<WindowResult<string, long>>();
        var closedEvents = new ConcurrentQueue<WindowResult<string, long>>();
        var clock = new VirtualClock();
        processor.DefinePipeline(Pipeline.Create("per-minute")
            .From(this.SourceProbe<Reading>().MapMaterializedValue(p => { probe.SetResult(p); return NotUsed.Instance; }))
            .TumblingWindow(TimeSpan.FromMinutes(1), r => r.Key, Aggregators.Count<Reading>(),
                new WindowOptions<Reading> { Clock = clock }, onClosed: closedEvents.Enqueue)
            .ForEach(results.Enqueue));
        await processor.StartAsync("per-minute");
        var source = await probe.Task;
        source.SendNext(new Reading("a", default));
        source.SendNext(new Reading("a", default));
        source.SendNext(new Reading("b", default));
        await AwaitConditionAsync(() => Task.FromResult(processor.GetMetrics("per-minute").ElementsIn == 3), Wait);

        await processor.StopAsync("per-minute");
        Assert.Equal(PipelineStatus.Stopped, processor.GetStatus("per-minute"));
        Assert.Equal(new[] { ("a", 2L), ("b", 1L) }, results.Select(r => (r.Key, r.Value)).ToArray());
        Assert.Equal(results.ToArray(), closedEvents.ToArray());
        source.ExpectCancellation();
    }

    [Fact]
    public async Task Pipelines_are_started_and_stopped_by_name_and_names_are_unique()
    {
        await using var processor = new StreamProcessor(Sys);
        var seen = 0L;
        processor.DefinePipeline(Pipeline.Create("ticks").From(Source.Repeat(1)).Throttle(100, TimeSpan.FromSeconds(1), 10)
            .ForEach(_ => Interlocked.Increment(ref seen)));
        Assert.Throws<InvalidOperationException>(() => processor.DefinePipeline(Pipeline.Create("ticks").From(Source.Single(1)).ForEach(_ => { })));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => processor.StartAsync("nope"));
        Assert.Equal(new[] { "ticks" }, processor.Pipelines);

        await processor.StartAsync("ticks");
        await AwaitConditionAsync(() => Task.FromResult(Interlocked.Read(ref seen) >= 5), Wait);
        Assert.Equal(PipelineStatus.Running, processor.GetStatus("ticks"));
        await processor.StopAsync("ticks");
        var after = Interlocked.Read(ref seen);
        Assert.Equal(PipelineStatus.Stopped, processor.GetStatus("ticks"));
        Assert.Equal(after, processor.GetMetrics("ticks").ElementsOut);
    }

    [Fact]
    public async Task Pipeline_counters_are_published_as_System_Diagnostics_Metrics()
    {
        var observed = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StreamProcessor.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == "pipeline" && (string?)tag.Value == "metered") observed[instrument.Name] = value;
        });
        listener.Start();

        await using var processor = new StreamProcessor(Sys);
        processor.DefinePipeline(Pipeline.Create("metered").From(Source.From(Enumerable.Range(1, 10))).Where(x => x % 2 == 0)
            .To(Sink.Ignore<int>()));
        await processor.StartAsync("metered");
        await processor.WhenTerminated("metered").WaitAsync(Wait);
        listener.RecordObservableInstruments();

        Assert.Equal(10L, observed["eventdriven.pipeline.elements.in"]);
        Assert.Equal(5L, observed["eventdriven.pipeline.elements.out"]);
        Assert.Equal(0L, observed["eventdriven.pipeline.errors"]);
    }

    [Fact]
    public async Task The_registry_lists_the_latest_closed_windows_of_a_windowed_pipeline_with_their_unit()
    {
        await using var processor = new StreamProcessor(Sys);
        var t0 = new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);
        // 70 one-second windows of event time, window i holding i % 3 + 1 readings of value 2.5 each.
        var readings = Enumerable.Range(0, 70).SelectMany(i => Enumerable.Repeat(new Reading("s", t0.AddSeconds(i), 2.5), i % 3 + 1));
        processor.DefinePipeline(Pipeline.Create("sums")
            .From(Source.From(readings.ToList()))
            .Where(r => r.Value > 0)
            .TumblingWindow(TimeSpan.FromSeconds(1), r => r.Key, Aggregators.Sum<Reading>(r => r.Value),
                new WindowOptions<Reading> { EventTime = r => r.At, ValueUnit = "kWh" })
            .ForEach(_ => { }));
        processor.DefinePipeline(Pipeline.Create("plain").From(Source.Single(1)).ForEach(_ => { }));
        var registry = PipelineRegistry.Get(Sys);
        Assert.Empty(registry.Snapshot().Single(p => p.Name == "sums").Windows); // defined, nothing closed yet

        await processor.StartAsync("sums");
        await processor.StartAsync("plain");
        await processor.WhenTerminated("sums").WaitAsync(Wait);
        await processor.WhenTerminated("plain").WaitAsync(Wait);

        var sums = registry.Snapshot().Single(p => p.Name == "sums");
        Assert.Equal(WindowSpec.Tumbling(TimeSpan.FromSeconds(1)), sums.Window);
        Assert.Equal("kWh", sums.WindowUnit);
        Assert.Equal(60, sums.Windows.Count); // the latest 60 of 70, oldest first
        Assert.Equal(Enumerable.Range(10, 60).Select(i => t0.AddSeconds(i)), sums.Windows.Select(w => w.Start));
        Assert.All(sums.Windows, w =>
        {
            var i = (int)(w.Start - t0).TotalSeconds;
            Assert.Equal(w.Start.AddSeconds(1), w.End);
            Assert.Equal("s", w.Key);
            Assert.Equal(i % 3 + 1, w.Count);
            Assert.Equal(2.5 * (i % 3 + 1), w.Value);
        });
        var plain = registry.Snapshot().Single(p => p.Name == "plain");
        Assert.Null(plain.Window);
        Assert.Empty(plain.Windows);
    }
}
