using Akka.EventDriven.EventSourcing.Storage;
using Npgsql;

namespace Akka.EventDriven.Benchmarks;

/// <summary>What one suite run produced.</summary>
public sealed record SuiteResult(
    double PlatformPerSecond,
    double BaselinePerSecond,
    double Goal,
    long Events,
    double DurationSeconds,
    Dictionary<string, object?> Details)
{
    public double Ratio => BaselinePerSecond > 0 ? PlatformPerSecond / BaselinePerSecond : 0;
}

/// <summary>Shared inputs of a suite run.</summary>
public sealed record RunContext(string ConnectionString, string RunId, bool Quick)
{
    /// <summary>The baseline's connection string: auto-prepare on, as a tuned raw writer would use.</summary>
    public string RawConnectionString => new NpgsqlConnectionStringBuilder(ConnectionString)
    {
        MaxAutoPrepare = 20,
        AutoPrepareMinUsages = 2,
    }.ConnectionString;
}

public static class Suites
{
    public static readonly IReadOnlyDictionary<string, (string Description, Func<RunContext, Task<SuiteResult>> Run)> All =
        new Dictionary<string, (string, Func<RunContext, Task<SuiteResult>>)>
        {
            ["append"] = ("400 aggregates, 8 commands in flight each, vs raw NpgsqlBatch(100) on 2 connections (goal 0.6)", AppendAsync),
            ["append-single"] = ("one aggregate, one command at a time, vs raw single-row INSERT + COMMIT (goal 0.85)", AppendSingleAsync),
            ["projection-lag"] = ("exactly-once projection lag p99 under the append load vs poll interval + one batch (goal ratio >= 1)", LiveLagSuite.RunAsync),
            ["projection"] = ("exactly-once projection catch-up into PostgreSQL vs a raw SELECT/UPSERT/offset loop (goal 0.8)", ProjectionSuite.RunAsync),
            ["pubsub"] = ("event bus: fast-path deliveries/s on 3 processes vs raw DistributedPubSub (goal 0.9); durable publish vs raw append (goal 0.5) + latency", PubSubSuite.RunAsync),
            ["saga"] = ("completed 3-step sagas/s vs the append baseline / 4 journal writes per saga (goal 0.5)", SagaSuite.RunAsync),
            ["pipeline"] = ("DSL Where -> Select -> keyed tumbling count vs the same topology in raw Akka.Streams (goal 0.95)", PipelineSuite.RunAsync),
            ["http"] = ("POST /api/commands (64 keep-alive clients) vs CommandBus.ExecuteAsync, POST /api/topics/{t} vs EventBus.PublishAsync (goal 0.7 each)", HttpSuite.RunAsync),
            ["kafka"] = ("produce and consume+commit through the Kafka stages vs raw Confluent.Kafka loops, mock cluster (goal 0.9)", KafkaSuite.RunAsync),
        };

    // Fixed by the suite definition; BENCH_AGGREGATES / BENCH_IN_FLIGHT exist only for diagnosis (reported in details).
    private static readonly int Aggregates = Env("BENCH_AGGREGATES", 400);
    private static readonly int InFlightPerAggregate = Env("BENCH_IN_FLIGHT", 8);
    private static readonly bool SkipBaseline = Env("BENCH_SKIP_BASELINE", 0) == 1;
    private static readonly int BaselineConnections = Env("BENCH_BASELINE_CONNECTIONS", 2);

    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;

    public static async Task<SuiteResult> AppendAsync(RunContext ctx)
    {
        var (warmUp, measure) = ctx.Quick ? (TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(6)) : (TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(20));
        var settings = PlatformSettingsFromEnvironment();

        await using var platform = await PlatformHost.StartAsync(ctx.ConnectionString, settings);
        var (payload, manifest) = platform.SampleEvent();

        // ---- Baseline: raw Npgsql, NpgsqlBatch of 100 INSERTs per transaction, 2 connections.
        await RawBaseline.PrepareTableAsync(ctx.RawConnectionString);
        Log($"baseline: NpgsqlBatch of 100 INSERTs per transaction on 2 connections, warm-up {warmUp.TotalSeconds} s, measure {measure.TotalSeconds} s");
        var baseline = SkipBaseline ? new Measurement(0, measure) : await RawBaseline.BatchedAsync(ctx.RawConnectionString, ctx.RunId, payload, manifest,
            connections: BaselineConnections, batchSize: 100, idsPerConnection: 200, warmUp, measure);
        Log($"baseline: {baseline.Count} rows in {baseline.Elapsed.TotalSeconds:0.00} s = {baseline.PerSecond:0} rows/s");

        if (Env("BENCH_SKIP_PLATFORM", 0) == 1)
            return new SuiteResult(0, baseline.PerSecond, 0.6, 0, 0, new() { ["baseline"] = baseline.Describe() });

        // ---- Platform: 400 aggregates x 8 pipelined SendAsync each.
        Log($"platform: {Aggregates} aggregates x {InFlightPerAggregate} commands in flight, warm-up {warmUp.TotalSeconds} s, measure {measure.TotalSeconds} s");
        var repo = platform.Repository;
        var window = new MeasureWindow();
        long accepted = 0, rejected = 0;
        var ids = Enumerable.Range(0, Aggregates).Select(i => $"{ctx.RunId}-{i:D4}").ToArray();

        // Activation: start (and recover) every entity with one command before the clock starts, so the warm-up and
        // the measurement see steady state rather than 400 sharded entities being created and recovered.
        var activation = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (id, _) =>
        {
            if (await repo.SendAsync(id, new Deposit(1)) is not CommandAccepted)
                throw new InvalidOperationException($"Activation command to {id} was not accepted.");
        });
        var activationSeconds = activation.Elapsed.TotalSeconds;
        var activationEvents = (long)ids.Length;
        Log($"platform: {ids.Length} aggregates activated in {activationSeconds:0.00} s");

        var loops = new List<Task>(Aggregates * InFlightPerAggregate);
        foreach (var id in ids)
            for (var k = 0; k < InFlightPerAggregate; k++)
                loops.Add(Task.Run(async () =>
                {
                    var command = new Deposit(1);
                    while (!window.Stopped)
                    {
                        var result = await repo.SendAsync(id, command);
                        if (result is CommandAccepted a)
                        {
                            Interlocked.Increment(ref accepted);
                            window.Add(a.Events.Count);
                        }
                        else Interlocked.Increment(ref rejected);
                    }
                }));
        var platformRun = await window.RunAsync(warmUp, measure, loops.ToArray());
        var acceptedEvents = window.Total + activationEvents;
        Log($"platform: {platformRun.Count} events in {platformRun.Elapsed.TotalSeconds:0.00} s = {platformRun.PerSecond:0} events/s");

        // ---- Durability: every accepted event (warm-up and tail included) must be in the journal.
        var (rows, avgPayload) = await JournalRowsAsync(ctx.ConnectionString, $"{BenchAccount.Definition.Name}-{ctx.RunId}%");
        Log($"durability: {rows} journal rows for this run, {acceptedEvents} accepted events");
        if (rows < acceptedEvents)
            throw new InvalidOperationException($"Durability check failed: {rows} journal rows < {acceptedEvents} accepted events.");

        return new SuiteResult(platformRun.PerSecond, baseline.PerSecond, 0.6, platformRun.Count, platformRun.Elapsed.TotalSeconds,
            new Dictionary<string, object?>
            {
                ["run_id"] = ctx.RunId,
                ["warm_up_s"] = warmUp.TotalSeconds,
                ["aggregates"] = Aggregates,
                ["in_flight_per_aggregate"] = InFlightPerAggregate,
                ["activation_s"] = Math.Round(activationSeconds, 3),
                ["platform"] = settings.Describe(),
                ["platform_measurement"] = platformRun.Describe(),
                ["platform_commands_accepted_total"] = Interlocked.Read(ref accepted),
                ["platform_commands_rejected_total"] = Interlocked.Read(ref rejected),
                ["durability_check"] = new Dictionary<string, object?>
                {
                    ["journal_rows"] = rows,
                    ["accepted_events_total"] = acceptedEvents,
                    ["ok"] = rows >= acceptedEvents,
                },
                ["journal_avg_payload_bytes"] = avgPayload,
                ["baseline"] = new Dictionary<string, object?>
                {
                    ["kind"] = "raw Npgsql: NpgsqlBatch of 100 single-row INSERTs per transaction, 2 connections, Max Auto Prepare=20",
                    ["table"] = RawBaseline.Table,
                    ["measurement"] = baseline.Describe(),
                    ["payload_bytes"] = payload.Length,
                    ["persistence_ids"] = 400,
                    ["indexes"] = "primary key (ordering), unique (persistence_id, sequence_nr)",
                },
            });
    }

    public static async Task<SuiteResult> AppendSingleAsync(RunContext ctx)
    {
        var (warmUp, measure) = ctx.Quick ? (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4)) : (TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(10));
        var settings = PlatformSettingsFromEnvironment();

        await using var platform = await PlatformHost.StartAsync(ctx.ConnectionString, settings);
        var (payload, manifest) = platform.SampleEvent();

        await RawBaseline.PrepareTableAsync(ctx.RawConnectionString);
        Log($"baseline: single-row INSERT + COMMIT (explicit transaction) on 1 connection, warm-up {warmUp.TotalSeconds} s, measure {measure.TotalSeconds} s");
        var baseline = await RawBaseline.SingleAsync(ctx.RawConnectionString, ctx.RunId, payload, manifest, explicitTransaction: true, warmUp, measure);
        Log($"baseline: {baseline.Count} rows in {baseline.Elapsed.TotalSeconds:0.00} s = {baseline.PerSecond:0} rows/s");
        Log("baseline (reference only): autocommit single-row INSERT on 1 connection");
        var autocommit = await RawBaseline.SingleAsync(ctx.RawConnectionString, ctx.RunId, payload, manifest, explicitTransaction: false, warmUp, measure);
        Log($"baseline (autocommit): {autocommit.Count} rows in {autocommit.Elapsed.TotalSeconds:0.00} s = {autocommit.PerSecond:0} rows/s");

        Log($"platform: one aggregate, one command at a time, warm-up {warmUp.TotalSeconds} s, measure {measure.TotalSeconds} s");
        var repo = platform.Repository;
        var id = $"{ctx.RunId}-single";
        var window = new MeasureWindow();
        var latencies = new List<double>(64 * 1024);
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
                lock (latencies) latencies.Add(clock.Elapsed.TotalMilliseconds - t0);
            }
        });
        var platformRun = await window.RunAsync(warmUp, measure, [loop]);
        Log($"platform: {platformRun.Count} events in {platformRun.Elapsed.TotalSeconds:0.00} s = {platformRun.PerSecond:0} events/s");

        var (rows, avgPayload) = await JournalRowsAsync(ctx.ConnectionString, $"{BenchAccount.Definition.Name}-{id}");
        if (rows < window.Total)
            throw new InvalidOperationException($"Durability check failed: {rows} journal rows < {window.Total} accepted events.");
        double[] sorted;
        lock (latencies) sorted = latencies.Order().ToArray();
        double Pct(double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

        return new SuiteResult(platformRun.PerSecond, baseline.PerSecond, 0.85, platformRun.Count, platformRun.Elapsed.TotalSeconds,
            new Dictionary<string, object?>
            {
                ["run_id"] = ctx.RunId,
                ["warm_up_s"] = warmUp.TotalSeconds,
                ["platform"] = settings.Describe(),
                ["platform_measurement"] = platformRun.Describe(),
                ["platform_latency_ms"] = new Dictionary<string, object?>
                {
                    ["p50"] = Math.Round(Pct(0.50), 3), ["p99"] = Math.Round(Pct(0.99), 3), ["max"] = Math.Round(sorted.LastOrDefault(), 3),
                },
                ["durability_check"] = new Dictionary<string, object?>
                {
                    ["journal_rows"] = rows, ["accepted_events_total"] = window.Total, ["ok"] = rows >= window.Total,
                },
                ["journal_avg_payload_bytes"] = avgPayload,
                ["baseline"] = new Dictionary<string, object?>
                {
                    ["kind"] = "raw Npgsql: BEGIN + single-row INSERT + COMMIT per row, 1 connection, Max Auto Prepare=20",
                    ["table"] = RawBaseline.Table,
                    ["measurement"] = baseline.Describe(),
                    ["payload_bytes"] = payload.Length,
                    ["indexes"] = "primary key (ordering), unique (persistence_id, sequence_nr)",
                },
                ["baseline_autocommit_per_s"] = Math.Round(autocommit.PerSecond, 1),
                ["ratio_vs_autocommit"] = Math.Round(autocommit.PerSecond > 0 ? platformRun.PerSecond / autocommit.PerSecond : 0, 3),
            });
    }

    /// <summary>Rows in the journal whose persistence id matches <paramref name="likePattern"/>, and their mean payload size.</summary>
    private static async Task<(long Rows, double AvgPayloadBytes)> JournalRowsAsync(string connectionString, string likePattern)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT count(*), coalesce(avg(octet_length(payload)), 0)::float8 FROM event_journal WHERE persistence_id LIKE $1", conn);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = likePattern });
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), Math.Round(reader.GetDouble(1), 1));
    }

    /// <summary>Platform settings; BENCH_BATCH_SIZE / BENCH_PARALLELISM / BENCH_SNAPSHOT_EVERY override them for experiments.</summary>
    private static PlatformSettings PlatformSettingsFromEnvironment()
    {
        // The platform's defaults: journal batch size 2000 and 2 writer connections, the baseline's connection count.
        return new PlatformSettings(Env("BENCH_BATCH_SIZE", 2000), Env("BENCH_PARALLELISM", 2), Env("BENCH_SNAPSHOT_EVERY", 0),
            Environment.GetEnvironmentVariable("BENCH_TAG_MODE") is { Length: > 0 } m ? m : null,
            Env("BENCH_PLATFORM_AUTO_PREPARE", 0) == 1);
    }

    private static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
