using Npgsql;

namespace Akka.EventDriven.Benchmarks;

/// <summary>The suites, in the order <c>./build.sh bench all</c> runs them, and the two append suites.</summary>
public static class Suites
{
    public static readonly IReadOnlyDictionary<string, (string Description, Func<RunContext, Task<SuiteResult>> Run)> All =
        new Dictionary<string, (string, Func<RunContext, Task<SuiteResult>>)>
        {
            ["append"] = ("400 aggregates, 8 commands in flight each, vs raw NpgsqlBatch(100) on 2 connections (goal 0.6)", AppendAsync),
            ["append-single"] = ("one aggregate, one command at a time, vs raw single-row INSERT + COMMIT (goal 0.85)", AppendSingleAsync),
            ["projection"] = ("exactly-once projection catch-up into PostgreSQL vs a raw SELECT/UPSERT/offset loop (goal 0.9)", ProjectionSuite.RunAsync),
            ["projection-lag"] = ("exactly-once projection lag p99 at half the maximum append rate vs poll interval + one batch (goal ratio >= 1); at the maximum rate, p99 of the first third vs the last of a 60 s run (goal >= 0.67: bounded)", LiveLagSuite.RunAsync),
            ["pubsub"] = ("event bus: fast-path deliveries/s on 3 processes vs raw DistributedPubSub (goal 0.9); durable publish vs raw append (goal 0.5) + latency", PubSubSuite.RunAsync),
            ["saga"] = ("completed 3-step sagas/s vs the append baseline / 4 journal writes per saga (goal 0.5)", SagaSuite.RunAsync),
            ["pipeline"] = ("DSL Where -> Select -> keyed tumbling count vs the same topology in raw Akka.Streams (goal 0.95)", PipelineSuite.RunAsync),
            ["kafka"] = ("produce and consume+commit through the Kafka stages vs raw Confluent.Kafka loops, mock cluster (goal 0.9)", KafkaSuite.RunAsync),
            ["scale"] = ("one-event commands over 100x more ids (cold loads) vs few ids (goal 0.83 = cost per event <= 1.2x); heap per active aggregate; recovery of 10k events with/without snapshots", ScaleSuite.RunAsync),
            ["http"] = ("POST /api/commands (64 keep-alive clients) vs CommandBus.ExecuteAsync, POST /api/topics/{t} vs MessageBus.PublishAsync (goal 0.7 each)", HttpSuite.RunAsync),
        };

    // Fixed by the suite definition; BENCH_AGGREGATES / BENCH_IN_FLIGHT exist only for diagnosis (reported in details).
    private static readonly int Aggregates = Env("BENCH_AGGREGATES", 400);
    private static readonly int InFlightPerAggregate = Env("BENCH_IN_FLIGHT", 8);
    private static readonly bool SkipBaseline = Env("BENCH_SKIP_BASELINE", 0) == 1;
    private static readonly bool SkipPlatform = Env("BENCH_SKIP_PLATFORM", 0) == 1;
    private static readonly int BaselineConnections = Env("BENCH_BASELINE_CONNECTIONS", 2);

    /// <summary>Pairs of alternating rounds (full and quick runs alike: a quick run has shorter rounds, not fewer).</summary>
    public const int Pairs = 3;

    /// <summary>The warm-up of a round: longer for each side's first round (JIT, connections, caches), short after.</summary>
    public static TimeSpan WarmUp(int round, bool quick) =>
        TimeSpan.FromSeconds(round == 0 ? (quick ? 2 : 5) : (quick ? 1 : 2));

    /// <summary>The measured part of a round of the append-shaped suites.</summary>
    public static TimeSpan Measure(bool quick) => TimeSpan.FromSeconds(quick ? 3 : 10);

    public static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;

    public static async Task<SuiteResult> AppendAsync(RunContext ctx)
    {
        var measure = Measure(ctx.Quick);
        var settings = PlatformSettingsFromEnvironment();
        await using var platform = await PlatformHost.StartAsync(ctx.ConnectionString, settings);
        var (payload, manifest) = platform.SampleEvent();
        await RawBaseline.PrepareTableAsync(ctx.RawConnectionString);

        Log($"platform: activating {Aggregates} aggregates");
        var load = await AppendLoad.ActivateAsync(platform.Repository, ctx.RunId, Aggregates, InFlightPerAggregate);
        Log($"platform: {load.Aggregates} aggregates activated in {load.ActivationSeconds:0.00} s");

        Log($"{Pairs} pairs of rounds: baseline NpgsqlBatch of 100 INSERTs per transaction on {BaselineConnections} connections; " +
            $"platform {Aggregates} aggregates x {InFlightPerAggregate} commands in flight; measure {measure.TotalSeconds} s each");
        var comparison = await new Comparison("append", "events/s", 0.6,
                $"raw Npgsql: NpgsqlBatch of 100 single-row INSERTs per transaction, {BaselineConnections} connections, Max Auto Prepare=20",
                $"{Aggregates} BenchAccount aggregates x {InFlightPerAggregate} SendAsync loops through sharding + repository; events of accepted commands")
            .AlternateAsync(Pairs,
                round => SkipBaseline ? Task.FromResult(new Measurement(0, measure)) : RawBaseline.BatchedAsync(ctx.RawConnectionString,
                    $"{ctx.RunId}-{round}", payload, manifest, connections: BaselineConnections, batchSize: 100, idsPerConnection: 200,
                    WarmUp(round, ctx.Quick), measure),
                round => SkipPlatform ? Task.FromResult(new Measurement(0, measure)) : load.RunAsync(WarmUp(round, ctx.Quick), measure));

        var durability = await load.CheckDurabilityAsync(ctx.ConnectionString);
        return new SuiteResult([comparison], new Dictionary<string, object?>
        {
            ["run_id"] = ctx.RunId,
            ["warm_up_s"] = $"{WarmUp(0, ctx.Quick).TotalSeconds} (first round of each side), {WarmUp(1, ctx.Quick).TotalSeconds} (later rounds)",
            ["measure_s"] = measure.TotalSeconds,
            ["aggregates"] = Aggregates,
            ["in_flight_per_aggregate"] = InFlightPerAggregate,
            ["activation_s"] = Math.Round(load.ActivationSeconds, 3),
            ["platform"] = settings.Describe(),
            ["platform_commands_accepted_total"] = load.CommandsAccepted,
            ["platform_commands_rejected_total"] = load.CommandsRejected,
            ["durability_check"] = durability,
            ["baseline"] = new Dictionary<string, object?>
            {
                ["table"] = RawBaseline.Table,
                ["payload_bytes"] = payload.Length,
                ["persistence_ids"] = BaselineConnections * 200,
                ["indexes"] = "primary key (ordering), unique (persistence_id, sequence_nr)",
            },
        });
    }

    public static async Task<SuiteResult> AppendSingleAsync(RunContext ctx)
    {
        var measure = TimeSpan.FromSeconds(ctx.Quick ? 2 : 5);
        TimeSpan Warm(int round) => TimeSpan.FromSeconds(round == 0 ? (ctx.Quick ? 1 : 3) : (ctx.Quick ? 0.5 : 1));
        var settings = PlatformSettingsFromEnvironment();
        await using var platform = await PlatformHost.StartAsync(ctx.ConnectionString, settings);
        var (payload, manifest) = platform.SampleEvent();
        await RawBaseline.PrepareTableAsync(ctx.RawConnectionString);

        var repo = platform.Repository;
        var id = $"{ctx.RunId}-single";
        var accepted = 0L;
        var latencies = new List<double>(64 * 1024);
        async Task<Measurement> PlatformRound(int round)
        {
            var window = new MeasureWindow();
            var loop = Task.Run(async () =>
            {
                var command = new Deposit(1);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (!window.Stopped)
                {
                    var t0 = clock.Elapsed.TotalMilliseconds;
                    var result = await repo.SendAsync(id, command);
                    if (result is not CommandAccepted a) throw new InvalidOperationException($"Command not accepted: {result}");
                    window.Add(a.Events.Count);
                    Interlocked.Add(ref accepted, a.Events.Count);
                    lock (latencies) latencies.Add(clock.Elapsed.TotalMilliseconds - t0);
                }
            });
            return await window.RunAsync(Warm(round), measure, [loop]);
        }

        // Each pair: the transactional baseline and the platform, alternating; the autocommit INSERT (reference only,
        // a weaker write than an atomic multi-statement append) runs next to the baseline in every pair.
        var main = new Comparison("append-single", "commands/s", 0.85,
            "raw Npgsql: BEGIN + single-row INSERT + COMMIT per row, 1 connection, Max Auto Prepare=20",
            "one BenchAccount aggregate, one awaited SendAsync at a time");
        var autocommit = new Comparison("vs-autocommit", "commands/s", null,
            "raw Npgsql: autocommit single-row INSERT, 1 connection (reference only)", "the same platform rounds");
        Log($"{Pairs} pairs of rounds, measure {measure.TotalSeconds} s each");
        for (var round = 0; round < Pairs; round++)
        {
            var platformFirst = round % 2 == 1;
            var p = platformFirst ? await PlatformRound(round) : null;
            var tx = await RawBaseline.SingleAsync(ctx.RawConnectionString, $"{ctx.RunId}-{round}", payload, manifest, explicitTransaction: true, Warm(round), measure);
            var auto = await RawBaseline.SingleAsync(ctx.RawConnectionString, $"{ctx.RunId}-{round}", payload, manifest, explicitTransaction: false, Warm(round), measure);
            p ??= await PlatformRound(round);
            main.Log(main.Add(tx, p, platformFirst), round, Pairs);
            autocommit.Log(autocommit.Add(auto, p, platformFirst), round, Pairs);
        }

        await using var conn = new NpgsqlConnection(ctx.ConnectionString);
        await conn.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM event_journal WHERE persistence_id = $1", conn);
        count.Parameters.Add(new NpgsqlParameter<string> { TypedValue = $"{BenchAccount.Definition.Name}-{id}" });
        var rows = (long)(await count.ExecuteScalarAsync())!;
        if (rows < accepted) throw new InvalidOperationException($"Durability check failed: {rows} journal rows < {accepted} accepted events.");
        double[] sorted;
        lock (latencies) sorted = latencies.Order().ToArray();
        double Pct(double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

        return new SuiteResult([main, autocommit], new Dictionary<string, object?>
        {
            ["run_id"] = ctx.RunId,
            ["measure_s"] = measure.TotalSeconds,
            ["platform"] = settings.Describe(),
            ["platform_latency_ms"] = new Dictionary<string, object?>
            {
                ["p50"] = Math.Round(Pct(0.50), 3), ["p99"] = Math.Round(Pct(0.99), 3), ["max"] = Math.Round(sorted.LastOrDefault(), 3),
                ["over"] = "every command of every platform round, warm-ups included",
            },
            ["durability_check"] = new Dictionary<string, object?> { ["journal_rows"] = rows, ["accepted_events_total"] = accepted, ["ok"] = true },
            ["baseline_table"] = RawBaseline.Table,
            ["payload_bytes"] = payload.Length,
        });
    }

    /// <summary>Platform settings; BENCH_BATCH_SIZE / BENCH_PARALLELISM / BENCH_SNAPSHOT_EVERY override them for experiments.</summary>
    public static PlatformSettings PlatformSettingsFromEnvironment()
    {
        // The platform's defaults: journal batch size 2000 and 2 writer connections, the baseline's connection count.
        return new PlatformSettings(Env("BENCH_BATCH_SIZE", 2000), Env("BENCH_PARALLELISM", 2), Env("BENCH_SNAPSHOT_EVERY", 0),
            Environment.GetEnvironmentVariable("BENCH_TAG_MODE") is { Length: > 0 } m ? m : null,
            Env("BENCH_PLATFORM_AUTO_PREPARE", 0) == 1);
    }

    private static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
