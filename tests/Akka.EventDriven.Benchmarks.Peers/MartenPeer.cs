using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;
using Npgsql;

namespace Akka.EventDriven.Benchmarks.Peers;

/// <summary>The read model of the Marten projection: events per stream, as the platform's projection counts them.</summary>
public sealed class MartenAccount
{
    public Guid Id { get; set; }
    public long Events { get; set; }
}

/// <summary>A single-stream projection counting each stream's <see cref="Deposited"/> events, run by the async daemon,
/// with the caching and batch size Marten's documentation recommends for many small events.</summary>
public sealed class MartenAccountProjection : SingleStreamProjection<MartenAccount, Guid>
{
    public const string ProjectionName = "bench_account";

    public MartenAccountProjection()
    {
        Name = ProjectionName;
        Options.CacheLimitPerTenant = 1000;
        Options.BatchSize = 5000;
    }

    public MartenAccount Create(Deposited e) => new() { Events = 1 };

    public void Apply(Deposited e, MartenAccount account) => account.Events++;
}

/// <summary>
/// Marten 9 on the suite's PostgreSQL, in a schema of its own, configured as its documentation says is fastest for
/// appends: the Quick append mode (the stream version is assigned in the database, so concurrent appends to one stream
/// need no optimistic retry), System.Text.Json. Streams are Guids (Marten's default identity).
/// </summary>
public sealed class MartenPeer : IAsyncDisposable
{
    /// <summary>Connections Marten's Npgsql pool may open (the platform opens at most 40 in all).</summary>
    public const int MaxPoolSize = 64;

    private readonly DocumentStore _store;
    private readonly string _schema;
    private readonly string _connectionString;
    private readonly string _poolConnectionString;

    private MartenPeer(DocumentStore store, string schema, string connectionString, string poolConnectionString)
    {
        _store = store;
        _schema = schema;
        _connectionString = connectionString;
        _poolConnectionString = poolConnectionString;
    }

    public static async Task<MartenPeer> StartAsync(string connectionString, string schema, bool withProjection)
    {
        // A fresh schema every run, so that the event store holds only what this run writes.
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }
        var cs = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = MaxPoolSize }.ConnectionString;
        var store = DocumentStore.For(opts =>
        {
            opts.Connection(cs);
            opts.DatabaseSchemaName = schema;
            opts.Events.DatabaseSchemaName = schema;
            opts.AutoCreateSchemaObjects = AutoCreate.All;
            opts.UseSystemTextJsonForSerialization();
            opts.Events.AppendMode = EventAppendMode.Quick;
            opts.Events.AddEventType<Deposited>();
            if (withProjection) opts.Projections.Add<MartenAccountProjection>(ProjectionLifecycle.Async);
        });
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        return new MartenPeer(store, schema, connectionString, cs);
    }

    /// <summary>Appends one event to <paramref name="stream"/> in a session of its own. Several writers append to one
    /// stream at once, so the append takes the stream's lock first (<c>AppendExclusive</c>, Marten's serialized access
    /// to a stream): a plain Quick append from two sessions at once fails on the (stream, version) key.</summary>
    public async Task AppendOneAsync(Guid stream, Deposited e)
    {
        await using var session = _store.LightweightSession();
        await session.Events.AppendExclusive(stream, e);
        await session.SaveChangesAsync();
    }

    /// <summary>Appends one event to a stream no other session appends to at the same time.</summary>
    public async Task AppendOneUncontendedAsync(Guid stream, Deposited e)
    {
        await using var session = _store.LightweightSession();
        session.Events.Append(stream, e);
        await session.SaveChangesAsync();
    }

    /// <summary>Appends <paramref name="events"/> to one stream in one session.</summary>
    public async Task AppendManyAsync(Guid stream, object[] events)
    {
        await using var session = _store.LightweightSession();
        session.Events.Append(stream, events);
        await session.SaveChangesAsync();
    }

    /// <summary>Appends <paramref name="events"/> to each of <paramref name="streams"/> in one session.</summary>
    public async Task AppendAcrossAsync(IReadOnlyList<Guid> streams, object[] events)
    {
        await using var session = _store.LightweightSession();
        foreach (var s in streams) session.Events.Append(s, events);
        await session.SaveChangesAsync();
    }

    /// <summary>Events stored in this peer's event table.</summary>
    public Task<long> EventCountAsync() => ScalarAsync($"SELECT count(*) FROM {_schema}.mt_events");

    /// <summary>One catch-up of the async daemon over the whole event store from sequence 0 into an emptied read
    /// model: the daemon is built and started, and the clock stops when the projection's committed progress reaches
    /// the highest event sequence. Checks that the read model counts every event.</summary>
    public async Task<Measurement> DaemonCatchUpAsync(long events)
    {
        await _store.Advanced.Clean.DeleteDocumentsByTypeAsync(typeof(MartenAccount));
        await ExecAsync($"DELETE FROM {_schema}.mt_event_progression WHERE name LIKE '{MartenAccountProjection.ProjectionName}%'");
        var high = await ScalarAsync($"SELECT coalesce(max(seq_id), 0) FROM {_schema}.mt_events");
        await using var progress = new NpgsqlConnection(_connectionString);
        await progress.OpenAsync();
        await using var poll = new NpgsqlCommand(
            $"SELECT coalesce(max(last_seq_id), 0) FROM {_schema}.mt_event_progression WHERE name LIKE '{MartenAccountProjection.ProjectionName}%'", progress);
        await poll.PrepareAsync();

        var clock = MeasureClock.Start();
        using var daemon = await _store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while ((long)(await poll.ExecuteScalarAsync())! < high)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Marten's async daemon did not catch up within 10 minutes.");
            await Task.Delay(5);
        }
        var run = clock.Stop(events);
        await daemon.StopAllAsync();

        await using var session = _store.QuerySession();
        var model = (await session.Query<MartenAccount>().ToListAsync()).Sum(a => a.Events);
        if (model != events) throw new InvalidOperationException($"Marten's read model counts {model} events, its event store holds {events}.");
        return run;
    }

    private async Task ExecAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync();
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    /// <summary>Disposes the store and closes its pooled connections (the server's connection slots are shared by every side).</summary>
    public ValueTask DisposeAsync()
    {
        _store.Dispose();
        using var pooled = new NpgsqlConnection(_poolConnectionString);
        NpgsqlConnection.ClearPool(pooled);
        return ValueTask.CompletedTask;
    }
}
