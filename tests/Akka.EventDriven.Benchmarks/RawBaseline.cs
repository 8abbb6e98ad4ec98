using Npgsql;
using NpgsqlTypes;

namespace Akka.EventDriven.Benchmarks;

/// <summary>Raw Npgsql writes of journal-like rows into a table of the benchmark's own.</summary>
public static class RawBaseline
{
    public const string Table = "bench_raw_events";

    /// <summary>Creates (if needed) and empties the baseline table: same shape and indexes as the journal's
    /// (bigserial ordering primary key, unique persistence_id + sequence number).</summary>
    public static async Task PrepareTableAsync(string connectionString)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"""
            CREATE TABLE IF NOT EXISTS {Table} (
              ordering       BIGSERIAL    NOT NULL PRIMARY KEY,
              persistence_id VARCHAR(255) NOT NULL,
              sequence_nr    BIGINT       NOT NULL,
              payload        BYTEA        NOT NULL,
              manifest       VARCHAR(500) NOT NULL,
              created_at     BIGINT       NOT NULL,
              tags           VARCHAR(100),
              UNIQUE (persistence_id, sequence_nr)
            );
            TRUNCATE {Table} RESTART IDENTITY;
            """, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    private const string InsertSql =
        $"INSERT INTO {Table} (persistence_id, sequence_nr, payload, manifest, created_at, tags) VALUES ($1, $2, $3, $4, $5, $6)";

    private static void AddParameters(NpgsqlParameterCollection p, string persistenceId, long seq, byte[] payload, string manifest)
    {
        p.Add(new NpgsqlParameter<string> { TypedValue = persistenceId, NpgsqlDbType = NpgsqlDbType.Varchar });
        p.Add(new NpgsqlParameter<long> { TypedValue = seq });
        p.Add(new NpgsqlParameter<byte[]> { TypedValue = payload });
        p.Add(new NpgsqlParameter<string> { TypedValue = manifest, NpgsqlDbType = NpgsqlDbType.Varchar });
        p.Add(new NpgsqlParameter<long> { TypedValue = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
        p.Add(new NpgsqlParameter<string> { TypedValue = "BenchAccount", NpgsqlDbType = NpgsqlDbType.Varchar });
    }

    /// <summary>Batched appends: <paramref name="connections"/> writers, each committing NpgsqlBatches of
    /// <paramref name="batchSize"/> single-row INSERTs in one transaction, over <paramref name="idsPerConnection"/> persistence ids each.</summary>
    public static async Task<Measurement> BatchedAsync(string connectionString, string runId, byte[] payload, string manifest,
        int connections, int batchSize, int idsPerConnection, TimeSpan warmUp, TimeSpan measure)
    {
        var window = new MeasureWindow();
        var workers = Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
        {
            await using var conn = new NpgsqlConnection(connectionString);
            await conn.OpenAsync();
            var seqs = new long[idsPerConnection];
            var ids = Enumerable.Range(0, idsPerConnection).Select(i => $"raw-{runId}-{c}-{i}").ToArray();
            var next = 0;
            while (!window.Stopped)
            {
                await using var tx = await conn.BeginTransactionAsync();
                await using var batch = new NpgsqlBatch(conn, tx);
                for (var i = 0; i < batchSize; i++)
                {
                    var id = next++ % idsPerConnection;
                    var cmd = new NpgsqlBatchCommand(InsertSql);
                    AddParameters(cmd.Parameters, ids[id], ++seqs[id], payload, manifest);
                    batch.BatchCommands.Add(cmd);
                }
                await batch.ExecuteNonQueryAsync();
                await tx.CommitAsync();
                window.Add(batchSize);
            }
        })).ToArray();
        return await window.RunAsync(warmUp, measure, workers);
    }

    /// <summary>One writer on one connection, one row per commit. <paramref name="explicitTransaction"/>: BEGIN, INSERT,
    /// COMMIT (as an atomic multi-statement append needs); otherwise an autocommit INSERT.</summary>
    public static async Task<Measurement> SingleAsync(string connectionString, string runId, byte[] payload, string manifest,
        bool explicitTransaction, TimeSpan warmUp, TimeSpan measure)
    {
        var window = new MeasureWindow();
        var worker = Task.Run(async () =>
        {
            await using var conn = new NpgsqlConnection(connectionString);
            await conn.OpenAsync();
            var id = $"raw-single-{runId}-{(explicitTransaction ? "tx" : "auto")}";
            long seq = 0;
            await using var cmd = new NpgsqlCommand(InsertSql, conn);
            AddParameters(cmd.Parameters, id, 0, payload, manifest);
            while (!window.Stopped)
            {
                ((NpgsqlParameter<long>)cmd.Parameters[1]).TypedValue = ++seq;
                ((NpgsqlParameter<long>)cmd.Parameters[4]).TypedValue = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                if (explicitTransaction)
                {
                    await using var tx = await conn.BeginTransactionAsync();
                    cmd.Transaction = tx;
                    await cmd.ExecuteNonQueryAsync();
                    await tx.CommitAsync();
                }
                else
                {
                    cmd.Transaction = null;
                    await cmd.ExecuteNonQueryAsync();
                }
                window.Add(1);
            }
        });
        return await window.RunAsync(warmUp, measure, [worker]);
    }
}
