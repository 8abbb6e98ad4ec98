#region usings
using Akka.EventDriven.Streaming;
using Akka.Streams.Dsl;
#endregion
using Xunit.Abstractions;

namespace Akka.EventDriven.TestKit.Tests;

public sealed record Reading(string Sensor, int Value);

public sealed class PipelineProbeSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    #region testkit-pipeline
    // Pipelines: the DSL's operators between Akka.Streams.TestKit probes, on a VirtualClock (windows close without waiting).
    // The pipeline under test: readings above 5, counted per minute of processing time (on the probe's clock).
    private static PipelineBuilder<WindowResult<NotUsed, long>> HighPerMinute(PipelineBuilder<Reading> p, VirtualClock clock) => p
        .Where(r => r.Value > 5)
        .TumblingWindow(TimeSpan.FromMinutes(1), Aggregators.Count<Reading>(), new WindowOptions<Reading> { Clock = clock });

    // Wrong code: >= instead of >.
    private static PipelineBuilder<WindowResult<NotUsed, long>> Buggy(PipelineBuilder<Reading> p, VirtualClock clock) => p
        .Where(r => r.Value >= 5)
        .TumblingWindow(TimeSpan.FromMinutes(1), Aggregators.Count<Reading>(), new WindowOptions<Reading> { Clock = clock });

    [Fact]
    public async Task A_window_closes_when_the_virtual_clock_passes_its_end()
    {
        await using var probe = PipelineProbe.Start<Reading, WindowResult<NotUsed, long>>(this, HighPerMinute);
        probe.Send(new Reading("a", 9), new Reading("b", 5), new Reading("a", 7));
        await probe.ExpectNoNextAsync(TimeSpan.FromMilliseconds(200));        // the minute is still open
        await probe.AdvanceAsync(TimeSpan.FromMinutes(1));
        var window = await probe.ExpectNextAsync(w => w.Value == 2, "a window of 2 readings");
        Assert.Equal(probe.Clock.UtcNow - TimeSpan.FromMinutes(1), window.Start);
        probe.Send(new Reading("c", 8));
        Assert.Equal([1L], (await probe.CompleteAsync()).Select(w => w.Value));
    }
    #endregion

    [Fact]
    public async Task A_wrong_pipeline_fails_showing_what_it_emitted()
    {
        await using var probe = PipelineProbe.Start<Reading, WindowResult<NotUsed, long>>(this, Buggy);
        probe.Send(new Reading("a", 9), new Reading("b", 5), new Reading("a", 7));
        await probe.AdvanceAsync(TimeSpan.FromMinutes(1));
        var failure = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => probe.ExpectNextAsync(w => w.Value == 2, "a window of 2 readings"));
        Assert.Contains("Pipeline 'pipeline-under-test': expected a window of 2 readings\nbut it emitted WindowResult", failure.Message);
        Assert.Contains("Value = 3", failure.Message);
    }

    [Fact]
    public async Task ExpectNoNext_fails_when_the_pipeline_emits_and_ExpectNext_fails_when_it_emits_nothing()
    {
        await using var probe = PipelineProbe.Start<Reading, Reading>(this, (p, _) => p.Where(r => r.Value > 5));
        probe.Send(new Reading("a", 9));
        var emitted = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => probe.ExpectNoNextAsync(TimeSpan.FromSeconds(3)));
        Assert.Contains("expected no output for 00:00:03, but it emitted Reading { Sensor = a, Value = 9 }", emitted.Message);

        probe.Send(new Reading("b", 1));
        var nothing = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => probe.ExpectNextAsync(new Reading("b", 1), TimeSpan.FromMilliseconds(300)));
        Assert.Contains("expected Reading { Sensor = b, Value = 1 } within 00:00:00.3000000, but it emitted nothing", nothing.Message);
        Assert.Contains("Emitted before: Reading { Sensor = a, Value = 9 }", nothing.Message);
    }

    [Fact]
    public async Task Advancing_a_clock_no_stage_reads_says_how_to_wire_it()
    {
        await using var probe = PipelineProbe.Start<Reading, WindowResult<NotUsed, long>>(this, (p, _) => p
            .TumblingWindow(TimeSpan.FromMinutes(1), Aggregators.Count<Reading>(), new WindowOptions<Reading> { TickInterval = TimeSpan.FromHours(1) }));
        var failure = await Assert.ThrowsAsync<EventDrivenAssertionException>(() => probe.AdvanceAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("no window stage reads the probe's virtual clock", failure.Message);
        Assert.Contains("as WindowOptions.Clock", failure.Message);
    }
}
