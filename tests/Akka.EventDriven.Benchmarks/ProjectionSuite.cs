using Akka.Actor;
using Akka.EventDriven.Projections;
using Npgsql;

namespace Akka.EventDriven.Benchmarks;

/// <summary>
/// `projection`: catch-up rate of an exactly-once projection into PostgreSQL over events written by the platform,
/// against a raw loop over the same journal (SELECT ordering &gt; offset LIMIT 1000, batched UPSERT + offset UPDATE in
/// one transaction, auto-prepare on). Both build the same read model: events per stream. Every round reads the whole
/// journal from the start into an emptied read model; rounds alternate in pairs.
/// </summary>
public static class ProjectionSuite
{
    private const string Upsert = "INSERT INTO {0} (persistence_id, events) VALUES ($1, 1) ON CONFLICT (persistence_id) DO UPDATE SET events = {0}.events + 1";

    /// <summary>Events in the journal the rounds project (the peers harness fills Marten with as many).</summary>
    public static int Events(bool quick) => quick ? 100_000 : 300_000;

    public static async Task<SuiteResult> RunAsync(RunContext ctx)
    {
        var target = Events(ctx.Quick);
        await using var platform = await PlatformHost.StartAsync(ctx.ConnectionString, new PlatformSettings());
        var (events, fillSeconds) = await FillAsync(platform, ctx, target);

        var comparison = await new Comparison("projection", "events/s", 0.9,
                "raw loop: SELECT ordering > offset LIMIT 1000, NpgsqlBatch of UPSERTs + offset UPDATE in one transaction, auto-prepare; payloads not deserialized",
                "Projection.ExactlyOnce, BatchSize 1000, UPSERTs in one NpgsqlBatch per batch, offset in the same transaction; events deserialized")
            .AlternateAsync(Suites.Pairs,
                round => RawCatchUpAsync(ctx.RawConnectionString, events),
                round => PlatformCatchUpAsync(platform.System, ctx.RawConnectionString, $"bench-{ctx.RunId}-{round}", events));

        return new SuiteResult([comparison], new Dictionary<string, object?>
        {
            ["journal_events"] = events,
            ["read_models_match_journal"] = true,
            ["fill_s"] = Math.Round(fillSeconds, 2),
            ["rounds"] = "each round projects the whole journal from offset 0 into an emptied read model",
        });
    }

    /// <summary>Writes <paramref name="target"/> events through the platform (400 aggregates, 8 commands in flight each);
    /// returns the journal's event count (the rounds project all of it: on a fresh database, just these) and the time it took.</summary>
    public static async Task<(long Events, double Seconds)> FillAsync(PlatformHost platform, RunContext ctx, int target)
    {
        Log($"writing {target} events through the platform");
        var written = 0L;
        var fill = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 3200).Select(async loop =>
        {
            var id = $"{ctx.RunId}-p{loop % 400:D4}";
            while (Interlocked.Increment(ref written) <= target)
                await platform.Repository.SendAsync(id, new Deposit(1));
        }));
        Log($"wrote {target} events in {fill.Elapsed.TotalSeconds:0.0} s");
        var events = await ScalarAsync(ctx.RawConnectionString, "SELECT count(*) FROM event_journal");
        if (events < target) throw new InvalidOperationException($"The journal holds {events} events, fewer than the {target} just written.");
        if (events > target) Log($"note: the journal also holds {events - target} events of earlier runs; every round projects all {events}");
        return (events, fill.Elapsed.TotalSeconds);
    }

    /// <summary>One catch-up of <c>Projection.ExactlyOnce</c> over the whole journal into an emptied read model; checks
    /// that the read model counts every journal event.</summary>
    public static async Task<Measurement> PlatformCatchUpAsync(ActorSystem system, string connectionString, string projectionName, long events)
    {
        await ExecAsync(connectionString, "DROP TABLE IF EXISTS bench_rm_platform; CREATE TABLE bench_rm_platform (persistence_id text PRIMARY KEY, events bigint NOT NULL);");
        var sql = string.Format(Upsert, "bench_rm_platform");
        var handled = 0L;
        var clock = MeasureClock.Start();
        await using (var projection = Projection.ExactlyOnce(system, new ProjectionId(projectionName),
                         async (batch, tx, ct) =>
                         {
                             var npgsqlTx = (NpgsqlTransaction)tx;
                             await using var b = new NpgsqlBatch(npgsqlTx.Connection, npgsqlTx);
                             foreach (var e in batch)
                             {
                                 var c = new NpgsqlBatchCommand(sql);
                                 c.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.PersistenceId });
                                 b.BatchCommands.Add(c);
                             }
                             await b.ExecuteNonQueryAsync(ct);
                             Interlocked.Add(ref handled, batch.Count);
                         },
                         new ProjectionSettings(BatchSize: 1000, PollInterval: TimeSpan.FromMilliseconds(5))))
        {
            await projection.WaitUntilCaughtUpAsync(TimeSpan.FromMinutes(10));
        }
        var run = clock.Stop(Interlocked.Read(ref handled));
        var model = await ScalarAsync(connectionString, "SELECT coalesce(sum(events), 0) FROM bench_rm_platform");
        if (model != events) throw new InvalidOperationException($"The platform's read model counts {model} events, the journal holds {events}.");
        return run;
    }

    /// <summary>One pass of the raw loop over the whole journal into an emptied read model.</summary>
    private static async Task<Measurement> RawCatchUpAsync(string connectionString, long events)
    {
        await ExecAsync(connectionString, "DROP TABLE IF EXISTS bench_rm_raw; CREATE TABLE bench_rm_raw (persistence_id text PRIMARY KEY, events bigint NOT NULL);" +
                                          "DROP TABLE IF EXISTS bench_raw_offset; CREATE TABLE bench_raw_offset (id int PRIMARY KEY, current_offset bigint NOT NULL); INSERT INTO bench_raw_offset VALUES (1, 0);");
        var clock = MeasureClock.Start();
        var count = await RawLoopAsync(connectionString);
        var run = clock.Stop(count);
        var model = await ScalarAsync(connectionString, "SELECT coalesce(sum(events), 0) FROM bench_rm_raw");
        if (model != events) throw new InvalidOperationException($"The raw read model counts {model} events, the journal holds {events}.");
        return run;
    }

    private static async Task<long> RawLoopAsync(string connectionString)
    {
        var sql = string.Format(Upsert, "bench_rm_raw");
        var total = 0L;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        while (true)
        {
            await using var tx = await connection.BeginTransactionAsync();
            long offset;
            await using (var read = new NpgsqlCommand("SELECT current_offset FROM bench_raw_offset WHERE id = 1 FOR UPDATE", connection, tx))
                offset = (long)(await read.ExecuteScalarAsync())!;
            var ids = new List<string>(1000);
            var last = offset;
            await using (var select = new NpgsqlCommand("SELECT ordering, persistence_id, payload FROM event_journal WHERE ordering > $1 ORDER BY ordering LIMIT 1000", connection, tx))
            {
                select.Parameters.Add(new NpgsqlParameter<long> { TypedValue = offset });
                await using var reader = await select.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    last = reader.GetInt64(0);
                    ids.Add(reader.GetString(1));
                    _ = reader.GetFieldValue<byte[]>(2);
                }
            }
            if (ids.Count == 0) return total;
            await using (var batch = new NpgsqlBatch(connection, tx))
            {
                foreach (var id in ids)
                {
                    var c = new NpgsqlBatchCommand(sql);
                    c.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
                    batch.BatchCommands.Add(c);
                }
                var update = new NpgsqlBatchCommand("UPDATE bench_raw_offset SET current_offset = $1 WHERE id = 1");
                update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = last });
                batch.BatchCommands.Add(update);
                await batch.ExecuteNonQueryAsync();
            }
            await tx.CommitAsync();
            total += ids.Count;
        }
    }

    private static async Task ExecAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
