using Akka.Actor;
using Akka.EventDriven.Streaming;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.Benchmarks;

/// <summary>
/// <c>pipeline</c>: the DSL pipeline Where → Select → keyed event-time tumbling count (run by a StreamProcessor)
/// against the same topology hand-written in raw Akka.Streams (Where → Select → StatefulSelectMany holding the
/// per-key window counts), and a plain C# loop for context. Runs alternate; each figure is the median of its runs.
/// </summary>
public static class PipelineSuite
{
    public sealed class Ev(int key, long ticks, int severity)
    {
        public readonly int Key = key;
        public readonly long Ticks = ticks;
        public readonly int Severity = severity;
    }

    public sealed class Scored(int key, long ticks, int score)
    {
        public readonly int Key = key;
        public readonly long Ticks = ticks;
        public readonly int Score = score;
    }

    private const int Keys = 100;
    private const long StepTicks = 100;                       // 10 µs of event time per element: 100k elements per 1 s window
    private static readonly TimeSpan WindowSize = TimeSpan.FromSeconds(1);
    private static readonly long T0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private static IEnumerator<Ev> Events(long count)
    {
        for (long i = 0; i < count; i++) yield return new Ev((int)(i % Keys), T0 + i * StepTicks, (int)(i % 10));
    }

    public static async Task<SuiteResult> RunAsync(RunContext ctx)
    {
        long elements = ctx.Quick ? 3_000_000 : 10_000_000;
        var rounds = ctx.Quick ? 3 : 5;
        using var system = ActorSystem.Create("pipeline-bench", "akka.loglevel = WARNING");
        var materializer = system.Materializer();
        await using var processor = new StreamProcessor(system);

        Log($"warm-up: {elements / 5:N0} elements through each variant");
        await DslAsync(processor, elements / 5, "warmup");
        await RawAsync(materializer, elements / 5);
        await RawWithWindowStageAsync(materializer, elements / 5);
        Loop(elements / 5);

        var dsl = new List<double>();
        var raw = new List<double>();
        var rawStage = new List<double>();
        var loop = new List<double>();
        long dslWindows = 0, rawWindows = 0, loopWindows = 0;
        // Baseline of each pair: the faster of the two raw Akka.Streams variants in that round (the stricter ratio).
        var comparison = new Comparison("pipeline", "elements/s", 0.95,
            "the faster of two raw Akka.Streams graphs of the same topology in the same round: (a) Where -> Select -> StatefulSelectMany with a Dictionary of per-(key, window) counts emitting windows the watermark passed; (b) Where -> Select -> the window GraphStage used directly (no DSL, no processor)",
            "DSL pipeline Where -> Select -> keyed event-time tumbling count, run by a StreamProcessor");
        for (var round = 0; round < rounds; round++)
        {
            Measurement d, r;
            long dw, rw;
            var platformFirst = round % 2 == 1;     // alternate which goes first
            if (!platformFirst)
            {
                (d, dw) = await DslAsync(processor, elements, $"r{round}");
                (r, rw) = await RawAsync(materializer, elements);
            }
            else
            {
                (r, rw) = await RawAsync(materializer, elements);
                (d, dw) = await DslAsync(processor, elements, $"r{round}");
            }
            var (rs, rsw) = await RawWithWindowStageAsync(materializer, elements);
            if (rsw != dw) throw new InvalidOperationException($"Window results differ: dsl {dw}, raw with the window stage {rsw}.");
            var (l, lw) = Loop(elements);
            rawStage.Add(rs.PerSecond);
            dsl.Add(d.PerSecond);
            raw.Add(r.PerSecond);
            loop.Add(l.PerSecond);
            (dslWindows, rawWindows, loopWindows) = (dw, rw, lw);
            comparison.Log(comparison.Add(r.PerSecond >= rs.PerSecond ? r : rs, d, platformFirst), round, rounds);
            Log($"round {round + 1}: dsl {d.PerSecond:N0}/s, raw akka.streams {r.PerSecond:N0}/s ({d.PerSecond / r.PerSecond:0.000}), " +
                $"raw + window stage {rs.PerSecond:N0}/s ({d.PerSecond / rs.PerSecond:0.000}), plain loop {l.PerSecond:N0}/s");
        }
        if (dslWindows != rawWindows || rawWindows != loopWindows)
            throw new InvalidOperationException($"Window results differ: dsl {dslWindows}, raw {rawWindows}, loop {loopWindows}.");

        var (dslMedian, rawMedian, rawStageMedian, loopMedian) = (Median(dsl), Median(raw), Median(rawStage), Median(loop));
        return new SuiteResult([comparison],
            new Dictionary<string, object?>
            {
                ["topology"] = "Where(severity >= 3) -> Select(score) -> keyed (100 keys) event-time tumbling 1 s count -> callback",
                ["elements_per_run"] = elements,
                ["rounds"] = rounds,
                ["window_results_per_run"] = dslWindows,
                ["dsl_per_s"] = dsl.Select(x => Math.Round(x)).ToArray(),
                ["raw_akka_streams_per_s"] = raw.Select(x => Math.Round(x)).ToArray(),
                ["raw_with_window_stage_per_s"] = rawStage.Select(x => Math.Round(x)).ToArray(),
                ["plain_loop_per_s"] = loop.Select(x => Math.Round(x)).ToArray(),
                ["ratio_to_raw_stateful_select_many"] = Math.Round(dslMedian / rawMedian, 4),
                ["ratio_to_raw_with_window_stage"] = Math.Round(dslMedian / rawStageMedian, 4),
                ["ratio_to_plain_loop"] = Math.Round(dslMedian / loopMedian, 4),
            });
    }

    private static async Task<(Measurement Run, long Windows)> DslAsync(StreamProcessor processor, long count, string run)
    {
        long windows = 0;
        var name = $"bench-{run}";
        processor.DefinePipeline(Pipeline.Create(name)
            .From(Source.FromEnumerator(() => Events(count)))
            .Where(e => e.Severity >= 3)
            .Select(e => new Scored(e.Key, e.Ticks, e.Severity * 2))
            .TumblingWindow(WindowSize, s => s.Key, Aggregators.Count<Scored>(),
                new WindowOptions<Scored> { EventTime = s => new DateTimeOffset(s.Ticks, TimeSpan.Zero) })
            .ForEach(w => windows += w.Value > 0 ? 1 : 0));
        var clock = MeasureClock.Start();
        await processor.StartAsync(name);
        await processor.WhenTerminated(name);
        var measured = clock.Stop(count);
        if (processor.GetStatus(name) != PipelineStatus.Completed) throw new InvalidOperationException(processor.GetMetrics(name).LastError);
        return (measured, windows);
    }

    private static readonly (int, long, long)[] None = [];

    /// <summary>Raw Akka.Streams with the platform's window stage used directly (no DSL, no processor): isolates what
    /// the DSL itself costs.</summary>
    private static async Task<(Measurement Run, long Windows)> RawWithWindowStageAsync(IMaterializer materializer, long count)
    {
        long windows = 0;
        var clock = MeasureClock.Start();
        await Source.FromEnumerator(() => Events(count))
            .Where(e => e.Severity >= 3)
            .Select(e => new Scored(e.Key, e.Ticks, e.Severity * 2))
            .Via(WindowOperators.Window(WindowSpec.Tumbling(WindowSize), (Scored s) => s.Key, Aggregators.Count<Scored>(),
                new WindowOptions<Scored> { EventTime = s => new DateTimeOffset(s.Ticks, TimeSpan.Zero) }))
            .RunForeach(w => windows += w.Value > 0 ? 1 : 0, materializer);
        return (clock.Stop(count), windows);
    }

    private static async Task<(Measurement Run, long Windows)> RawAsync(IMaterializer materializer, long count)
    {
        long windows = 0;
        var size = WindowSize.Ticks;
        var clock = MeasureClock.Start();
        await Source.FromEnumerator(() => Events(count))
            .Where(e => e.Severity >= 3)
            .Select(e => new Scored(e.Key, e.Ticks, e.Severity * 2))
            .Concat(Source.Single(new Scored(-1, long.MaxValue / 2, 0)))    // end of input: a watermark past every window
            .StatefulSelectMany<Scored, (int Key, long Start, long Count), NotUsed>(() =>
            {
                var open = new Dictionary<(int, long), long>();
                var watermark = long.MinValue;
                var nextClose = long.MaxValue;
                return s =>
                {
                    var start = s.Ticks - s.Ticks % size;
                    if (s.Ticks > watermark) watermark = s.Ticks;
                    open[(s.Key, start)] = open.TryGetValue((s.Key, start), out var n) ? n + 1 : 1;
                    if (start + size < nextClose) nextClose = start + size;
                    if (watermark < nextClose) return None;
                    var closed = new List<(int, long, long)>();
                    foreach (var ((key, st), c) in open)
                        if (st + size <= watermark) closed.Add((key, st, c));
                    foreach (var (key, st, _) in closed) open.Remove((key, st));
                    nextClose = open.Count == 0 ? long.MaxValue : open.Keys.Min(k => k.Item2) + size;
                    return closed;
                };
            })
            .RunForeach(w => windows += w.Item3 > 0 ? 1 : 0, materializer);
        return (clock.Stop(count), windows);        // the end marker's own window never closes
    }

    private static (Measurement Run, long Windows) Loop(long count)
    {
        long windows = 0;
        var size = WindowSize.Ticks;
        var open = new Dictionary<(int, long), long>();
        var watermark = long.MinValue;
        var nextClose = long.MaxValue;
        var clock = MeasureClock.Start();
        using var events = Events(count);
        while (events.MoveNext())
        {
            var e = events.Current;
            if (e.Severity < 3) continue;
            var s = new Scored(e.Key, e.Ticks, e.Severity * 2);
            var start = s.Ticks - s.Ticks % size;
            if (s.Ticks > watermark) watermark = s.Ticks;
            open[(s.Key, start)] = open.TryGetValue((s.Key, start), out var n) ? n + 1 : 1;
            if (start + size < nextClose) nextClose = start + size;
            if (watermark < nextClose) continue;
            foreach (var ((key, st), c) in open)
                if (st + size <= watermark) { windows++; open.Remove((key, st)); }
            nextClose = open.Count == 0 ? long.MaxValue : open.Keys.Min(k => k.Item2) + size;
        }
        windows += open.Count;
        return (clock.Stop(count), windows);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
