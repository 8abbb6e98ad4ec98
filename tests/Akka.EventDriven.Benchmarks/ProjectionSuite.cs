using System.Diagnostics;
using Akka.EventDriven.Projections;
using Npgsql;

namespace Akka.EventDriven.Benchmarks;

/// <summary>
/// `projection`: catch-up rate of an exactly-once projection into PostgreSQL over events written by the platform,
/// against a raw loop over the same journal (SELECT ordering &gt; offset LIMIT 1000, batched UPSERT + offset UPDATE in
/// one transaction, auto-prepare on). Both build the same read model: events per stream.
/// </summary>
public static class ProjectionSuite
{
    private const string Upsert = "INSERT INTO {0} (persistence_id, events) VALUES ($1, 1) ON CONFLICT (persistence_id) DO UPDATE SET events = {0}.events + 1";

    public static async Task<SuiteResult> RunAsync(RunContext ctx)
    {
        var target = ctx.Quick ? 100_000 : 300_000;
        var settings = new PlatformSettings();
        await using var platform = await PlatformHost.StartAsync(ctx.ConnectionString, settings);

        // ---- Fill the journal through the platform: 400 aggregates, 8 commands in flight each.
        Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] writing {target} events through the platform");
        var written = 0L;
        var fill = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 3200).Select(async loop =>
        {
            var id = $"{ctx.RunId}-p{loop % 400:D4}";
            while (Interlocked.Increment(ref written) <= target)
                await platform.Repository.SendAsync(id, new Deposit(1));
        }));
        Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] wrote {target} events in {fill.Elapsed.TotalSeconds:0.0} s");
        var events = await CountAsync(ctx.RawConnectionString, "SELECT count(*) FROM event_journal");

        // ---- Baseline: the raw loop.
        await ExecAsync(ctx.RawConnectionString, "DROP TABLE IF EXISTS bench_rm_raw; CREATE TABLE bench_rm_raw (persistence_id text PRIMARY KEY, events bigint NOT NULL);" +
                                                 "DROP TABLE IF EXISTS bench_raw_offset; CREATE TABLE bench_raw_offset (id int PRIMARY KEY, current_offset bigint NOT NULL); INSERT INTO bench_raw_offset VALUES (1, 0);");
        var raw = Stopwatch.StartNew();
        var rawCount = await RawLoopAsync(ctx.RawConnectionString);
        raw.Stop();
        Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] raw loop: {rawCount} events in {raw.Elapsed.TotalSeconds:0.00} s = {rawCount / raw.Elapsed.TotalSeconds:0}/s");

        // ---- Platform: Projection.ExactlyOnce with the same UPSERTs in its transaction.
        await ExecAsync(ctx.RawConnectionString, "DROP TABLE IF EXISTS bench_rm_platform; CREATE TABLE bench_rm_platform (persistence_id text PRIMARY KEY, events bigint NOT NULL);");
        var sql = string.Format(Upsert, "bench_rm_platform");
        var handled = 0L;
        var clock = Stopwatch.StartNew();
        await using (var projection = Projection.ExactlyOnce(platform.System, new ProjectionId($"bench-{ctx.RunId}"),
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
        clock.Stop();
        Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] exactly-once projection: {handled} events in {clock.Elapsed.TotalSeconds:0.00} s = {handled / clock.Elapsed.TotalSeconds:0}/s");

        var rawModel = await CountAsync(ctx.RawConnectionString, "SELECT coalesce(sum(events), 0) FROM bench_rm_raw");
        var platformModel = await CountAsync(ctx.RawConnectionString, "SELECT coalesce(sum(events), 0) FROM bench_rm_platform");
        if (rawModel != events || platformModel != events)
            throw new InvalidOperationException($"Read models disagree with the journal: journal {events}, raw {rawModel}, platform {platformModel}.");

        return new SuiteResult(handled / clock.Elapsed.TotalSeconds, rawCount / raw.Elapsed.TotalSeconds, 0.8, handled,
            clock.Elapsed.TotalSeconds, new Dictionary<string, object?>
            {
                ["journal_events"] = events,
                ["read_models_match_journal"] = true,
                ["platform"] = "Projection.ExactlyOnce, BatchSize 1000, UPSERTs in one NpgsqlBatch per batch, offset in the same transaction; events deserialized",
                ["baseline"] = "raw loop: SELECT ordering > offset LIMIT 1000, NpgsqlBatch of UPSERTs + offset UPDATE in one transaction, auto-prepare; payloads not deserialized",
                ["fill_s"] = Math.Round(fill.Elapsed.TotalSeconds, 2),
            });
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

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}
