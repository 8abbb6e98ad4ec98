using Akka;
using Akka.EventDriven.Streaming;
using Akka.EventDriven.TestKit;
using Xunit.Abstractions;

namespace IntelOps.Tests;

/// <summary>The sample's threat-analysis and per-minute operators on PipelineProbe.</summary>
public sealed class StreamingSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static FindingObserved F(int severity, double seconds) => new("inv-1", $"finding {severity}", severity, T0.AddSeconds(seconds));

    [Fact]
    public async Task Severe_findings_are_analyzed_and_others_dropped()
    {
        await using var probe = PipelineProbe.Start<FindingObserved, AnalyzedThreat>(this, (p, _) => ThreatStreaming.AnalyzeThreats(p));
        probe.Send(F(3, 0), F(7, 1), F(9, 2));
        await probe.ExpectNextAsync(new AnalyzedThreat("inv-1", "finding 7", 7, "high", T0.AddSeconds(1)));
        await probe.ExpectNextAsync(t => t.Category == "critical", "a critical threat");
        await probe.ExpectNoNextAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Severe_findings_are_counted_per_minute_of_event_time()
    {
        await using var probe = PipelineProbe.Start<FindingObserved, WindowResult<NotUsed, long>>(this, (p, _) => ThreatStreaming.ThreatsPerMinute(p));
        probe.Send(F(8, 10), F(2, 20), F(9, 50), F(7, 70));       // 70 s: watermark 65 s closes the first minute
        await probe.ExpectNextAsync(w => w.Start == T0 && w.Value == 2, "2 threats in the first minute");
        Assert.Equal([1L], (await probe.CompleteAsync()).Select(w => w.Value));
    }
}
