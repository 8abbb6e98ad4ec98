using Akka.Actor;
using Akka.EventDriven.EventSourcing;

namespace Akka.EventDriven.Benchmarks;

/// <summary>
/// <c>scale</c>: how the aggregates grow with the number of ids (issue 17's scale figures), on PostgreSQL, one node:
/// <list type="bullet">
/// <item><b>ids</b>: the same number of one-event commands (256 in flight, snapshots off) spread over few ids (each gets
/// many commands: almost every command finds its aggregate loaded) and over 100× as many (each gets two: half the
/// commands load their aggregate from storage first). Ratio = events/s with many ids ÷ with few, in alternating rounds
/// on fresh ids each round (goal ≥ 0.83, i.e. the cost per event at most 1.2× the few-ids cost, cold loads
/// included); the ids loaded per second of the many-ids rounds are reported, and the cold loads per second on their
/// own (one command to each of as many fresh ids, 3 runs, median).</item>
/// <item><b>heap per active aggregate</b>: managed heap after a full GC, before and after activating the many ids.</item>
/// <item><b>recovery</b>: one aggregate with 10,000 events, first command after a restart of the node, without and
/// with snapshots (every 1,000 events).</item>
/// </list>
/// One machine cannot show throughput growing with nodes (both cores are already busy with one node and its
/// database); the multi-node figures in docs/benchmarks.md say so with the CPU split.
/// </summary>
public static class ScaleSuite
{
    private const int InFlight = 256;

    public static async Task<SuiteResult> RunAsync(RunContext ctx)
    {
        var commands = ctx.Quick ? 20_000 : 200_000;
        var few = commands / 200;   // 200 commands per id
        var many = commands / 2;    // 2 commands per id
        var details = new Dictionary<string, object?>
        {
            ["commands_per_round"] = commands,
            ["few_ids"] = few,
            ["many_ids"] = many,
            ["in_flight"] = InFlight,
            ["snapshots"] = "off",
        };

        var settings = new PlatformSettings(SnapshotEvery: 0);
        await using (var platform = await PlatformHost.StartAsync(ctx.ConnectionString, settings))
        {
            // Heap per active aggregate, first, on the fresh node: later, the rounds' aggregates passivate (120 s idle)
            // while a measurement would run. One command each, so each holds its state and one remembered command id.
            var before = HeapAfterFullGc();
            var heapIds = ctx.Quick ? 10_000 : 50_000;
            await SpreadAsync(platform.Repository, $"{ctx.RunId}-heap", heapIds, heapIds);
            var after = HeapAfterFullGc();
            details["heap_per_active_aggregate_bytes"] = Math.Round((after - before) / (double)heapIds, 0);
            details["heap_aggregates"] = heapIds;
            Log($"heap: {(after - before) / 1024 / 1024} MB for {heapIds:N0} more active aggregates, {(after - before) / heapIds} B each");
            // Diagnosis knob: BENCH_SCALE_HOLD=1 holds the aggregates for a heap dump (dotnet-gcdump collect -p <pid>)
            // until a line (or the end) arrives on standard input.
            if (Environment.GetEnvironmentVariable("BENCH_SCALE_HOLD") == "1")
            {
                Log($"holding {heapIds:N0} active aggregates in process {Environment.ProcessId}; press Enter to go on");
                await Console.In.ReadLineAsync();
            }

            // The floor under that figure, on the same node and journal: plain persistent actors, one event each.
            var bare = await BareHeapPerActorAsync(platform.System, $"{ctx.RunId}-bare", heapIds);
            details["heap_per_bare_persistent_actor_bytes"] = Math.Round(bare, 0);
            Log($"heap: {bare:0} B per plain Akka.Persistence actor with one event (the framework's floor)");

            var round = 0;
            var cold = new List<double>();
            var comparison = await new Comparison("ids", "events/s", 0.83,
                    $"{commands:N0} one-event commands over {few:N0} ids (200 each: loaded once, then warm)",
                    $"the same over {many:N0} ids (2 each: every id loaded from storage first)")
                .AlternateAsync(Suites.Pairs,
                    _ => SpreadAsync(platform.Repository, $"{ctx.RunId}-f{round++}", few, commands),
                    async _ =>
                    {
                        var m = await SpreadAsync(platform.Repository, $"{ctx.RunId}-m{round++}", many, commands);
                        cold.Add(many / m.Elapsed.TotalSeconds);
                        return m;
                    });
            details["cold_loads_per_s_many_ids"] = Math.Round(Comparison.Median(cold), 0);

            // Cold loads on their own: one command to each of as many fresh ids (each loads its aggregate, finds no
            // events, and stores one), so that the figure is the loads' rate, not diluted by warm second commands.
            var loads = new List<double>();
            for (var r = 0; r < Suites.Pairs; r++)
                loads.Add((await SpreadAsync(platform.Repository, $"{ctx.RunId}-c{r}", many, many)).PerSecond);
            details["cold_loads_per_s_one_command_each"] = Math.Round(Comparison.Median(loads), 0);
            details["cold_loads_per_s_one_command_each_min_max"] = new[] { Math.Round(loads.Min(), 0), Math.Round(loads.Max(), 0) };


            var recovery = await RecoveryAsync(ctx, platform, details);
            var figures = new Dictionary<string, object?>();
            foreach (var key in new[] { "cold_loads_per_s_one_command_each", "cold_loads_per_s_many_ids", "heap_per_active_aggregate_bytes", "heap_per_bare_persistent_actor_bytes", "recovery_10k_events_ms_without_snapshots", "recovery_10k_events_ms_with_snapshots" })
                figures[key] = details[key];
            return new SuiteResult([comparison, .. recovery], details) { Figures = figures };
        }
    }

    /// <summary><paramref name="commands"/> deposits over <paramref name="ids"/> new ids, <see cref="InFlight"/> at a time, in
    /// id-major order (each id's commands one after another, so the first one loads it).</summary>
    private static async Task<Measurement> SpreadAsync(AggregateRepository<BenchAccountState> repository, string prefix, int ids, int commands)
    {
        var next = -1;
        var perId = commands / ids;
        var (pause0, allocated0, gen0, gen1, gen2) = (GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes(),
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var monotonicStart = System.Diagnostics.Stopwatch.GetTimestamp(); // CLOCK_MONOTONIC: perf record -k CLOCK_MONOTONIC
        var clock = MeasureClock.Start();
        await Task.WhenAll(Enumerable.Range(0, InFlight).Select(async _ =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < commands)
            {
                // Interleaved so that the commands in flight at once touch different ids: ids i, i+1, … then again.
                var id = $"{prefix}-{n % ids}";
                var result = await repository.SendAsync(id, new Deposit(1));
                if (result is not CommandAccepted) throw new InvalidOperationException($"{id}: {result}");
            }
        }));
        var m = clock.Stop(commands);
        Log($"{prefix}: {commands:N0} commands over {ids:N0} ids ({perId} each) in {m.Elapsed.TotalSeconds:0.00} s = {m.PerSecond:N0}/s, " +
            $"CPU {m.ProcessCpuPer1k:0.000} s/1k (process), {m.DatabaseCpuPer1k:0.000} s/1k (database); " +
            $"GC: {(GC.GetTotalAllocatedBytes() - allocated0) / commands:N0} B allocated per command, " +
            $"{(GC.GetTotalPauseDuration() - pause0).TotalMilliseconds:N0} ms paused, " +
            $"{GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2} collections (gen 0/1/2); " +
            $"last young GC: {LastYoungGc()}; " +
            $"monotonic {Seconds(monotonicStart)}-{Seconds(System.Diagnostics.Stopwatch.GetTimestamp())}");
        static string LastYoungGc()
        {
            var gc = GC.GetGCMemoryInfo(GCKind.Ephemeral);
            return $"gen {gc.Generation}, {gc.PauseDurations[0].TotalMilliseconds:0.0} ms, promoted {gc.PromotedBytes / 1024 / 1024} MB, " +
                   $"heap {gc.HeapSizeBytes / 1024 / 1024} MB, compacted {gc.Compacted}, pinned {gc.PinnedObjectsCount}";
        }
        static string Seconds(long ticks) => (ticks / (double)System.Diagnostics.Stopwatch.Frequency).ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture);
        return m;
    }

    /// <summary>Recovery of one aggregate with 10,000 events after a node restart, without and with snapshots: the time
    /// of its first state query (the entity starts and recovers, then answers). Alternating, 3 each; the ratio is with ÷
    /// without (the snapshot's speed-up; higher is better).</summary>
    private static async Task<Comparison[]> RecoveryAsync(RunContext ctx, PlatformHost first, Dictionary<string, object?> details)
    {
        const int events = 10_000;
        var plain = $"{ctx.RunId}-recover-plain";
        var snapped = $"{ctx.RunId}-recover-snap";
        for (var i = 0; i < events; i += InFlight)
            await Task.WhenAll(Enumerable.Range(i, Math.Min(InFlight, events - i)).Select(_ => first.Repository.SendAsync(plain, new Deposit(1))));
        await using (var snapshots = await PlatformHost.StartAsync(ctx.ConnectionString, new PlatformSettings(SnapshotEvery: 1000)))
            for (var i = 0; i < events; i += InFlight)
                await Task.WhenAll(Enumerable.Range(i, Math.Min(InFlight, events - i)).Select(_ => snapshots.Repository.SendAsync(snapped, new Deposit(1))));

        var comparison = new Comparison("recovery", "recoveries/s", null,
            $"first state query of an aggregate of {events:N0} events after a node restart, snapshots off (full replay)",
            "the same with a snapshot every 1,000 events (loads the snapshot at 10,000, replays none)");
        for (var round = 0; round < Suites.Pairs; round++)
        {
            var without = await FirstCommandAfterRestartAsync(ctx, plain, 0);
            var with = await FirstCommandAfterRestartAsync(ctx, snapped, 1000);
            comparison.Add(1 / without.TotalSeconds, 1 / with.TotalSeconds, null, null, false);
            Log($"recovery of {events:N0} events: {without.TotalMilliseconds:0.0} ms without snapshots, {with.TotalMilliseconds:0.0} ms from a snapshot");
        }
        details["recovery_10k_events_ms_without_snapshots"] = Math.Round(1000 / comparison.BaselineMedian, 1);
        details["recovery_10k_events_ms_with_snapshots"] = Math.Round(1000 / comparison.PlatformMedian, 1);
        return [comparison];
    }

    private static async Task<TimeSpan> FirstCommandAfterRestartAsync(RunContext ctx, string id, int snapshotEvery)
    {
        await using var node = await PlatformHost.StartAsync(ctx.ConnectionString, new PlatformSettings(SnapshotEvery: snapshotEvery));
        // The node's own first trips (its shard region and coordinator, the first entity, the read path) are paid by
        // another aggregate first, so that what is timed is this aggregate's recovery.
        await node.Repository.GetStateAsync($"{id}-warm-up-{Guid.NewGuid():N}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var state = await node.Repository.GetStateAsync(id);
        var took = clock.Elapsed;
        if (state.Version < 10_000) throw new InvalidOperationException($"{id} recovered at version {state.Version}");
        return took;
    }

    /// <summary>Heap per <see cref="BarePersistentActor"/> after <paramref name="count"/> of them each persisted one
    /// event (full GC before and after); they are stopped afterwards.</summary>
    private static async Task<double> BareHeapPerActorAsync(ActorSystem system, string prefix, int count)
    {
        var actors = new IActorRef[count];
        var before = HeapAfterFullGc();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, InFlight).Select(async _ =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < count)
            {
                actors[n] = system.ActorOf(Props.Create(() => new BarePersistentActor($"{prefix}-{n}")), $"{prefix}-{n}");
                var deposits = await actors[n].Ask<long>(new Deposit(1), TimeSpan.FromSeconds(60));
                if (deposits != 1) throw new InvalidOperationException($"{prefix}-{n}: {deposits} deposits");
            }
        }));
        var after = HeapAfterFullGc();
        foreach (var a in actors) a.Tell(PoisonPill.Instance);
        return (after - before) / (double)count;
    }

    private static long HeapAfterFullGc()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static void Log(string line) => Console.WriteLine($"[scale] {line}");
}
