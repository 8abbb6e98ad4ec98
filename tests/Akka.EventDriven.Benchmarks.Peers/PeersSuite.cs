using Npgsql;

namespace Akka.EventDriven.Benchmarks.Peers;

/// <summary>
/// <c>peers</c>: the platform against what a user would pick instead, on the same PostgreSQL, machine and concurrency,
/// our figure measured in the same run in alternating rounds. (1) Projection catch-up: Marten's async daemon on a
/// single-stream projection against the <c>projection</c> suite's exactly-once projection, over as many events.
/// (2) The <c>append</c> workload (400 aggregates or streams, 8 commands in flight on each): Marten appending one event
/// per session (writers on one stream serialized by Marten's stream lock, or queued in the process: the better counts),
/// Marten appending 100 events per session (where it is at its best), and plain Akka.Persistence.Sql persistent actors
/// with the plugin's defaults and with its best tuning. Ratios are ours ÷ the peer's.
/// </summary>
public static class PeersSuite
{
    private const int Streams = 400;
    private const int InFlight = 8;
    private const int BatchedEvents = 100;
    private const int BatchedWriters = Streams * InFlight / BatchedEvents;   // as many events in flight as the append load

    private static readonly Deposited Event = new(1, "deposit-reference-0123456789");

    public static async Task<SuiteResult> RunAsync(RunContext ctx)
    {
        var pairs = Suites.Pairs;
        var measure = Suites.Measure(ctx.Quick);
        await using var platform = await PlatformHost.StartAsync(ctx.ConnectionString, new PlatformSettings());

        // 1. Projection catch-up. First, on the fresh database, so that our journal holds exactly the events the
        // projection suite projects.
        var (daemon, events) = await ProjectionCatchUpAsync(ctx, platform, pairs);

        // 2. The append workload.
        Log($"append: activating {Streams} aggregates / streams / actors on each side");
        var load = await AppendLoad.ActivateAsync(platform.Repository, $"{ctx.RunId}a", Streams, InFlight);
        await using var marten = await MartenPeer.StartAsync(ctx.ConnectionString, "bench_marten_append", withProjection: false);
        var streams = Enumerable.Range(0, Streams).Select(_ => Guid.NewGuid()).ToArray();
        await Parallel.ForEachAsync(streams, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (s, _) => await marten.AppendOneUncontendedAsync(s, Event));
        var martenAcked = (long)Streams;
        var database = new NpgsqlConnectionStringBuilder(ctx.ConnectionString).Database ?? "postgres";
        await using var apsDefaults = await PlainPersistencePeer.StartAsync(ctx.ConnectionString, $"{database}_aps_defaults", tuned: false, Streams, InFlight);
        await using var apsTuned = await PlainPersistencePeer.StartAsync(ctx.ConnectionString, $"{database}_aps_tuned", tuned: true, Streams, InFlight);

        // One event per session from 8 writers per stream: appends to one stream must not overlap (two Quick appends
        // from two sessions at once collide on the stream's version). Two ways, both measured: Marten's lock on the
        // stream in the database (AppendExclusive), or writers queued per stream in the process (one session per stream
        // at a time, as an actor's mailbox would do it).
        var queues = streams.Select(_ => new SemaphoreSlim(1, 1)).ToArray();
        async Task<Measurement> MartenSingle(TimeSpan warmUp, bool locked)
        {
            var window = new MeasureWindow();
            var loops = Enumerable.Range(0, Streams * InFlight).Select(i => Task.Run(async () =>
            {
                var stream = streams[i % Streams];
                var queue = queues[i % Streams];
                while (!window.Stopped)
                {
                    if (locked) await marten.AppendOneAsync(stream, Event);
                    else
                    {
                        await queue.WaitAsync();
                        try { await marten.AppendOneUncontendedAsync(stream, Event); }
                        finally { queue.Release(); }
                    }
                    Interlocked.Increment(ref martenAcked);
                    window.Add(1);
                }
            })).ToArray();
            return await window.RunAsync(warmUp, measure, loops);
        }
        var batch = Enumerable.Repeat<object>(Event, BatchedEvents).ToArray();
        async Task<Measurement> MartenBatched(TimeSpan warmUp)
        {
            var window = new MeasureWindow();
            // Each writer owns its streams (no two writers append to one stream) and appends 100 events to one at a time.
            var loops = Enumerable.Range(0, BatchedWriters).Select(w => Task.Run(async () =>
            {
                var mine = streams.Where((_, i) => i % BatchedWriters == w).ToArray();
                for (var n = 0; !window.Stopped; n++)
                {
                    await marten.AppendManyAsync(mine[n % mine.Length], batch);
                    Interlocked.Add(ref martenAcked, BatchedEvents);
                    window.Add(BatchedEvents);
                }
            })).ToArray();
            return await window.RunAsync(warmUp, measure, loops);
        }

        var sides = new (string Name, Func<int, Task<Measurement>> Run)[]
        {
            ("ours", round => load.RunAsync(Suites.WarmUp(round, ctx.Quick), measure)),
            ("marten-locked", round => MartenSingle(Suites.WarmUp(round, ctx.Quick), locked: true)),
            ("marten-queued", round => MartenSingle(Suites.WarmUp(round, ctx.Quick), locked: false)),
            ("marten-batched", round => MartenBatched(Suites.WarmUp(round, ctx.Quick))),
            ("aps-defaults", round => apsDefaults.RunAsync(Suites.WarmUp(round, ctx.Quick), measure)),
            ("aps-tuned", round => apsTuned.RunAsync(Suites.WarmUp(round, ctx.Quick), measure)),
        };
        const string ours = "the append suite's platform side: 400 BenchAccount aggregates x 8 SendAsync loops through sharding + repository, one event per command";
        var martenSingle = new Comparison("marten-single", "events/s", 10.0,
            "Marten 9.58, one event per session: in each round the better of its two ways (below)", ours);
        var martenLocked = new Comparison("marten-locked", "events/s", null,
            $"Marten 9.58: one event per session (LightweightSession, AppendExclusive, SaveChangesAsync), {Streams * InFlight} concurrent writers " +
            $"({Streams} streams x {InFlight}), Quick append mode, Npgsql pool {MartenPeer.MaxPoolSize}", ours);
        var martenQueued = new Comparison("marten-queued", "events/s", null,
            $"Marten 9.58: one event per session (LightweightSession, Append, SaveChangesAsync), the same {Streams * InFlight} writers queued " +
            "per stream in the process (one session per stream at a time), Quick append mode", ours);
        var martenBatched = new Comparison("marten-batched", "events/s", 1.0,
            $"Marten 9.58: {BatchedEvents} events to one stream per session, {BatchedWriters} concurrent writers (as many events in flight), " +
            "each writer on streams of its own, Quick append mode", ours);
        var apsBest = new Comparison("aps-best", "events/s", 1.5,
            "plain Akka.Persistence.Sql 1.5.73 persistent actors: in each round the better of its defaults and its tuned setup (below)", ours);
        var apsDefault = new Comparison("aps-defaults", "events/s", null,
            $"plain Akka.Persistence.Sql: {Streams} local persistent actors, Persist, the plugin's journal with its defaults " +
            $"(batch-size 100, parallelism 3), {InFlight} Ask loops per actor, default (JSON) serializer", ours);
        var apsTune = new Comparison("aps-tuned", "events/s", null,
            $"plain Akka.Persistence.Sql: the same actors with PersistAsync and journal batch-size = 2000, {InFlight} Ask loops per actor", ours);

        Log($"append: {pairs} rounds of {string.Join(", ", sides.Select(s => s.Name))} (the order reversed every other round), measure {measure.TotalSeconds} s each");
        for (var round = 0; round < pairs; round++)
        {
            var order = round % 2 == 0 ? sides : sides.Reverse().ToArray();
            var runs = new Dictionary<string, Measurement>();
            foreach (var (name, run) in order)
            {
                runs[name] = await run(round);
                Log($"append round {round + 1}/{pairs}: {name} {runs[name].PerSecond:0} events/s");
            }
            bool OursFirst(string peer) => Array.FindIndex(order, s => s.Name == "ours") < Array.FindIndex(order, s => s.Name == peer);
            martenLocked.Log(martenLocked.Add(runs["marten-locked"], runs["ours"], OursFirst("marten-locked")), round, pairs);
            martenQueued.Log(martenQueued.Add(runs["marten-queued"], runs["ours"], OursFirst("marten-queued")), round, pairs);
            var single = runs["marten-locked"].PerSecond >= runs["marten-queued"].PerSecond ? "marten-locked" : "marten-queued";
            martenSingle.Log(martenSingle.Add(runs[single], runs["ours"], OursFirst(single)), round, pairs);
            martenBatched.Log(martenBatched.Add(runs["marten-batched"], runs["ours"], OursFirst("marten-batched")), round, pairs);
            apsDefault.Log(apsDefault.Add(runs["aps-defaults"], runs["ours"], OursFirst("aps-defaults")), round, pairs);
            apsTune.Log(apsTune.Add(runs["aps-tuned"], runs["ours"], OursFirst("aps-tuned")), round, pairs);
            var best = runs["aps-tuned"].PerSecond >= runs["aps-defaults"].PerSecond ? "aps-tuned" : "aps-defaults";
            apsBest.Log(apsBest.Add(runs[best], runs["ours"], OursFirst(best)), round, pairs);
        }

        var durability = await load.CheckDurabilityAsync(ctx.ConnectionString);
        var martenRows = await marten.EventCountAsync();
        if (martenRows < martenAcked) throw new InvalidOperationException($"Marten: {martenRows} events stored < {martenAcked} acknowledged.");
        var apsDefaultRows = await apsDefaults.CheckDurabilityAsync();
        var apsTunedRows = await apsTuned.CheckDurabilityAsync();

        var comparisons = new List<Comparison> { martenSingle, martenBatched, daemon, apsBest, martenLocked, martenQueued, apsDefault, apsTune };
        // The suite's ratio: the comparison furthest below (or least above) its goal.
        var main = comparisons.Where(c => c.Goal is not null).MinBy(c => c.Ratio / c.Goal!.Value)!;
        return new SuiteResult(comparisons, new Dictionary<string, object?>
        {
            ["run_id"] = ctx.RunId,
            ["main_ratio"] = $"{main.Name}: the comparison with the lowest ratio ÷ goal",
            ["ratio_meaning"] = "ours ÷ the peer's, per pair of alternating rounds",
            ["measure_s"] = measure.TotalSeconds,
            ["projection_events"] = events,
            ["append_order"] = "each round runs ours, marten-locked, marten-queued, marten-batched, aps-defaults, aps-tuned; every other round in reverse",
            ["durability_check"] = new Dictionary<string, object?>
            {
                ["ours"] = durability,
                ["marten_events_stored"] = martenRows, ["marten_events_acknowledged"] = martenAcked,
                ["aps_defaults_rows"] = apsDefaultRows, ["aps_defaults_acknowledged"] = apsDefaults.Acknowledged,
                ["aps_tuned_rows"] = apsTunedRows, ["aps_tuned_acknowledged"] = apsTuned.Acknowledged,
            },
            ["same_for_all"] = "one process, the same PostgreSQL server (Marten in schemas of its own, Akka.Persistence.Sql in databases of its own), the same 2 cores",
            ["differences"] = "ours tags every event (a tag row per event) and routes through cluster sharding; the plain actors are local and untagged; " +
                              "Marten stores JSON (jsonb) and maintains a stream row per stream",
        }, main.Name);
    }

    /// <summary>Marten's async daemon against the platform's exactly-once projection, each catching up the same read
    /// model (events per stream) over as many events as the <c>projection</c> suite projects.</summary>
    private static async Task<(Comparison Daemon, long Events)> ProjectionCatchUpAsync(RunContext ctx, PlatformHost platform, int pairs)
    {
        var (events, _) = await ProjectionSuite.FillAsync(platform, ctx, ProjectionSuite.Events(ctx.Quick));
        await using var peer = await MartenPeer.StartAsync(ctx.ConnectionString, "bench_marten_daemon", withProjection: true);
        await FillMartenAsync(peer, events);
        Log("projection: one unmeasured catch-up of each side first (JIT, Marten's storage code, caches)");
        await peer.DaemonCatchUpAsync(events);
        await ProjectionSuite.PlatformCatchUpAsync(platform.System, ctx.RawConnectionString, $"peers-{ctx.RunId}-warm-up", events);
        var daemon = await new Comparison("marten-daemon", "events/s", 2.0,
                "Marten 9.58 async daemon (StartAllAsync) catching up a SingleStreamProjection (events per stream; batch 5000, " +
                "cache 1000) from sequence 0, timed until its committed progress reaches the last event",
                "Projection.ExactlyOnce catching up the same read model from offset 0 (the projection suite's platform side)")
            .AlternateAsync(pairs,
                _ => peer.DaemonCatchUpAsync(events),
                round => ProjectionSuite.PlatformCatchUpAsync(platform.System, ctx.RawConnectionString, $"peers-{ctx.RunId}-{round}", events));
        return (daemon, events);
    }

    /// <summary>Fills Marten with <paramref name="events"/> events over 400 streams, interleaved across the streams in
    /// the event sequence as the platform's journal is (16 writers, each session 5 events to each of 25 streams).</summary>
    private static async Task FillMartenAsync(MartenPeer peer, long events)
    {
        const int writers = 16, run = 5;
        var streams = Enumerable.Range(0, Streams).Select(_ => Guid.NewGuid()).ToArray();
        var perStream = events / Streams;
        Log($"writing {events} events into Marten ({Streams} streams, interleaved in runs of {run})");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var mine = streams.Where((_, i) => i % writers == w).ToArray();
            for (var n = 0L; n < perStream; n += run)
                await peer.AppendAcrossAsync(mine, Enumerable.Repeat<object>(Event, (int)Math.Min(run, perStream - n)).ToArray());
        })));
        var stored = await peer.EventCountAsync();
        if (stored != perStream * Streams) throw new InvalidOperationException($"Marten holds {stored} events, {perStream * Streams} were written.");
        if (stored != events) throw new InvalidOperationException($"{events} events do not divide over {Streams} streams.");
        Log($"wrote {stored} events into Marten in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    private static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
