#region usings
using Akka.EventDriven.Streaming;
using Akka.EventDriven.TestKit;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;
#endregion

namespace Akka.EventDriven.Streaming.Tests;

public sealed record Reading(string Key, DateTimeOffset At, double Value = 1);

public sealed class WindowOperatorSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly ActorMaterializer _materializer;

    public WindowOperatorSpec(ITestOutputHelper output) : base(output: output) => _materializer = Sys.Materializer();

    private static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    private static Reading R(string key, double seconds, double value = 1) => new(key, At(seconds), value);

    private WindowOptions<Reading> EventTime(TimeSpan? outOfOrder = null, TimeSpan? lateness = null) => new()
    {
        EventTime = r => r.At,
        MaxOutOfOrderness = outOfOrder ?? TimeSpan.Zero,
        AllowedLateness = lateness ?? TimeSpan.Zero,
        LateEvents = Sink.ActorRef<Reading>(TestActor, "late-complete", ex => ex),
    };

    private (TestPublisher.Probe<Reading>, TestSubscriber.Probe<WindowResult<TKey, TResult>>) Run<TKey, TResult>(
        Flow<Reading, WindowResult<TKey, TResult>, NotUsed> window) =>
        this.SourceProbe<Reading>().Via(window).ToMaterialized(this.SinkProbe<WindowResult<TKey, TResult>>(), Keep.Both).Run(_materializer);

    [Fact]
    public async Task Tumbling_event_time_window_closes_when_the_watermark_passes_its_end_and_late_events_go_to_the_side_output()
    {
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var (source, sink) = Run(WindowOperators.Window(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)), (Reading r) => r.Key,
                Aggregators.Count<Reading>(), EventTime(outOfOrder: TimeSpan.FromSeconds(5))));
            sink.Request(10);
            source.SendNext(R("a", 10));
            source.SendNext(R("b", 30));
            source.SendNext(R("a", 62));     // watermark 57: [0, 60) stays open
            source.SendNext(R("a", 50));     // out of order but within 5 s: still counted in [0, 60)
            await sink.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(150));
            source.SendNext(R("a", 66));     // watermark 61 >= 60: [0, 60) closes
            var first = sink.ExpectNext();
            var second = sink.ExpectNext();
            Assert.Equal(("a", At(0), At(60), 2L), (first.Key, first.Start, first.End, first.Value));
            Assert.Equal(("b", At(0), At(60), 1L), (second.Key, second.Start, second.End, second.Value));

            source.SendNext(R("a", 59));     // its window closed: late, to the side output, not counted
            ExpectMsg<Reading>(r => r.At == At(59));
            source.SendNext(R("a", 63));     // behind the newest but in an open window
            source.SendComplete();           // end of input: the open window is complete
            var last = sink.ExpectNext();
            Assert.Equal(("a", At(60), At(120), 3L), (last.Key, last.Start, last.End, last.Value));
            sink.ExpectComplete();
            ExpectMsg("late-complete");
        }, _materializer);
    }

    [Fact]
    public async Task Allowed_lateness_keeps_a_window_open_after_the_watermark_passes_its_end()
    {
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var (source, sink) = Run(WindowOperators.Window(WindowSpec.Tumbling(TimeSpan.FromSeconds(10)), (Reading r) => r.Key,
                Aggregators.Count<Reading>(), EventTime(lateness: TimeSpan.FromSeconds(5))));
            sink.Request(10);
            source.SendNext(R("k", 1));
            source.SendNext(R("k", 12));     // watermark 12: [0, 10) open until 15
            source.SendNext(R("k", 9));      // late by 3 s, within the allowed 5 s: counted
            await sink.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(150));
            source.SendNext(R("k", 15));     // watermark 15 = 10 + 5: closes
            Assert.Equal(2L, sink.ExpectNext().Value);
            source.SendNext(R("k", 8));
            ExpectMsg<Reading>(r => r.At == At(8));
            source.SendComplete();
            Assert.Equal((At(10), 2L), sink.ExpectNext() is var w ? (w.Start, w.Value) : default);
            sink.ExpectComplete();
        }, _materializer);
    }

    [Fact]
    public async Task Sliding_windows_count_an_element_in_every_window_that_covers_it()
    {
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var results = await Source.From(new[] { R("k", 1), R("k", 6), R("k", 12) })
                .SlidingWindow(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), r => r.Key, Aggregators.Count<Reading>(), EventTime())
                .RunWith(Sink.Seq<WindowResult<string, long>>(), _materializer);
            Assert.Equal(
                new[] { (At(-5), At(5), 1L), (At(0), At(10), 2L), (At(5), At(15), 2L), (At(10), At(20), 1L) },
                results.Select(w => (w.Start, w.End, w.Value)).ToArray());
        }, _materializer);
    }

    [Fact]
    public async Task Session_windows_merge_when_an_event_bridges_two_sessions()
    {
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var closed = new List<WindowResult<string, double>>();
            var results = await Source.From(new[] { R("a", 0, 1), R("b", 3, 10), R("a", 18, 2), R("a", 9, 4), R("a", 60, 100) })
                .SessionWindow(TimeSpan.FromSeconds(10), r => r.Key, Aggregators.Sum<Reading>(r => r.Value),
                    EventTime(outOfOrder: TimeSpan.FromSeconds(20)), onClosed: closed.Add)
                .RunWith(Sink.Seq<WindowResult<string, double>>(), _materializer);
            var byKey = results.Select(w => (w.Key, w.Start, w.End, w.Value, w.Count)).OrderBy(w => w.Key).ThenBy(w => w.Start).ToArray();
            Assert.Equal(new[]
            {
                ("a", At(0), At(28), 7d, 3L),        // [0,10) and [18,28) joined by the event at 9
                ("a", At(60), At(70), 100d, 1L),
                ("b", At(3), At(13), 10d, 1L),
            }, byKey);
            Assert.Equal(results.Count, closed.Count);   // the window:closed hook saw every result
        }, _materializer);
    }

    [Fact]
    public async Task Global_windows_aggregate_all_keys_together()
    {
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var results = await Source.From(new[] { R("a", 1), R("b", 2), R("c", 11) })
                .TumblingWindow(TimeSpan.FromSeconds(10), Aggregators.Count<Reading>(), EventTime())
                .RunWith(Sink.Seq<WindowResult<NotUsed, long>>(), _materializer);
            Assert.Equal(new[] { 2L, 1L }, results.Select(w => w.Value).ToArray());
        }, _materializer);
    }

    [Fact]
    public async Task An_idle_source_advances_the_watermark_after_the_idle_timeout()
    {
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            #region virtual-clock-window
            var clock = new VirtualClock(T0);
            var options = EventTime() with { IdleTimeout = TimeSpan.FromSeconds(30), Clock = clock };
            var (source, sink) = Run(WindowOperators.Window(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)), (Reading r) => r.Key,
                Aggregators.Count<Reading>(), options));
            await clock.WaitForSubscribersAsync(1);
            sink.Request(10);
            source.SendNext(R("a", 10));
            clock.Advance(TimeSpan.FromSeconds(20));      // not idle yet
            await sink.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(150));
            clock.Advance(TimeSpan.FromSeconds(40));      // idle for 60 s: watermark 10 + 60 = 70 >= 60
            var w = sink.ExpectNext();
            #endregion
            Assert.Equal(("a", At(0), 1L), (w.Key, w.Start, w.Value));
            source.SendComplete();
            sink.ExpectComplete();
            Assert.Equal(0, clock.Subscribers);           // the stage let go of the clock when it stopped
        }, _materializer);
    }

    [Fact]
    public async Task Processing_time_windows_close_as_the_virtual_clock_passes_their_end()
    {
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var clock = new VirtualClock(T0);
            var (source, sink) = Run(WindowOperators.Window(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)), (Reading r) => r.Key,
                Aggregators.Count<Reading>(), new WindowOptions<Reading> { Clock = clock }));
            await clock.WaitForSubscribersAsync(1);
            sink.Request(10);
            source.SendNext(R("a", 0));
            source.SendNext(R("a", 0));
            clock.Advance(TimeSpan.FromSeconds(59));
            source.SendNext(R("a", 0));
            await sink.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(150));
            clock.Advance(TimeSpan.FromSeconds(1));       // T0 + 60 s: the first minute closes
            var w = sink.ExpectNext();
            Assert.Equal((T0, T0.AddMinutes(1), 3L), (w.Start, w.End, w.Value));
            source.SendNext(R("a", 0));
            clock.Advance(TimeSpan.FromMinutes(1));
            Assert.Equal((T0.AddMinutes(1), 1L), sink.ExpectNext() is var n ? (n.Start, n.Value) : default);
            source.SendComplete();
            sink.ExpectComplete();
        }, _materializer);
    }

    [Fact]
    public async Task Every_aggregator_computes_its_result_and_merges()
    {
        var input = new[] { R("x", 1, 3), R("y", 2, 1), R("x", 3, 5), R("z", 4, 1), R("x", 5, 2) };
        async Task<TResult> Over<TAcc, TResult>(Aggregator<Reading, TAcc, TResult> aggregator) =>
            (await Source.From(input).TumblingWindow(TimeSpan.FromMinutes(1), aggregator, EventTime())
                .RunWith(Sink.Seq<WindowResult<NotUsed, TResult>>(), _materializer)).Single().Value;

        Assert.Equal(5L, await Over(Aggregators.Count<Reading>()));
        Assert.Equal(12d, await Over(Aggregators.Sum<Reading>(r => r.Value)));
        Assert.Equal(2.4d, await Over(Aggregators.Average<Reading>(r => r.Value)), 10);
        Assert.Equal(1d, await Over(Aggregators.Min<Reading, double>(r => r.Value)));
        Assert.Equal(5d, await Over(Aggregators.Max<Reading, double>(r => r.Value)));
        Assert.Equal(3L, await Over(Aggregators.DistinctCount<Reading, string>(r => r.Key)));
        var top = await Over(Aggregators.TopK<Reading, string>(2, r => r.Key));
        Assert.Equal(new[] { ("x", 3L), ("y", 1L) }, top.Select(p => (p.Key, p.Value)).ToArray());
        var custom = Aggregators.Create<Reading, string, string>(() => "", (acc, r) => acc + r.Key, (a, b) => a + b, acc => acc.ToUpperInvariant());
        Assert.Equal("XYXZX", await Over(custom));

        // Merge, as session windows use it.
        Assert.Equal(5L, Aggregators.Count<Reading>().Merge(2, 3));
        Assert.Equal((4d, 2L), Aggregators.Average<Reading>(r => r.Value).Merge((1d, 1L), (3d, 1L)));
        Assert.Equal(1d, Aggregators.Min<Reading, double>(r => r.Value).Merge(4d, 1d));
        Assert.Equal(4d, Aggregators.Max<Reading, double>(r => r.Value).Merge(4d, null));
        Assert.Equal(3, Aggregators.DistinctCount<Reading, string>(r => r.Key).Merge(new() { "a", "b" }, new() { "b", "c" }).Count);
        var merged = Aggregators.TopK<Reading, string>(1, r => r.Key).Merge(new() { ["a"] = 2 }, new() { ["a"] = 1, ["b"] = 2 });
        Assert.Equal(3L, merged["a"]);
    }

    [Fact]
    public async Task A_slow_late_events_sink_backpressures_the_window()
    {
        await this.AssertAllStagesStoppedAsync(async () =>
        {
            var lateProbe = new TaskCompletionSource<TestSubscriber.Probe<Reading>>();
            var options = EventTime() with
            {
                LateEvents = this.SinkProbe<Reading>().MapMaterializedValue(p => { lateProbe.SetResult(p); return NotUsed.Instance; }),
            };
            var (source, sink) = Run(WindowOperators.Window(WindowSpec.Tumbling(TimeSpan.FromSeconds(10)), (Reading r) => r.Key,
                Aggregators.Count<Reading>(), options));
            var late = await lateProbe.Task;
            sink.Request(10);
            source.SendNext(R("k", 20));
            source.SendNext(R("k", 1));      // late, and the late sink has not asked for anything: the window waits
            source.SendNext(R("k", 35));     // would close [20, 30), but is not taken in yet
            await sink.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(150));
            late.Request(1);
            Assert.Equal(At(1), late.ExpectNext().At);
            var w = sink.ExpectNext();
            Assert.Equal((At(20), 1L), (w.Start, w.Value));
            source.SendComplete();
            Assert.Equal(At(30), sink.ExpectNext().Start);
            sink.ExpectComplete();
            late.ExpectComplete();
        }, _materializer);
    }
}
