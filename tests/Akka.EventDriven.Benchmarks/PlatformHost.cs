using Akka.Actor;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Hosting;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.EventDriven.Benchmarks;

/// <summary>Platform settings a suite runs with (reported in the JSON details).</summary>
/// <param name="BatchSize">Journal batch-size (events per round trip across aggregates).</param>
/// <param name="Parallelism">Journal write parallelism (connections).</param>
/// <param name="SnapshotEvery">Aggregate snapshot-every; 0 = snapshots off.</param>
/// <param name="TagWriteMode">Null: the platform's own journal tag mode (TagTable). "Csv" overrides journal writes and
/// tag queries to the Csv mode: a diagnosis knob only (BENCH_TAG_MODE), not how the platform ships.</param>
/// <param name="AutoPrepare">Adds Max Auto Prepare to the platform's connection string (BENCH_PLATFORM_AUTO_PREPARE=1).</param>
public sealed record PlatformSettings(int BatchSize = 2000, int Parallelism = 2, int SnapshotEvery = 0,
    string? TagWriteMode = null, bool AutoPrepare = false)
{
    public Dictionary<string, object?> Describe() => new()
    {
        ["provider"] = "postgresql",
        ["batch_size"] = BatchSize,
        ["parallelism"] = Parallelism,
        ["snapshot_every"] = SnapshotEvery,
        ["snapshots"] = SnapshotEvery == 0 ? "off" : $"every {SnapshotEvery} events",
        ["server_gc"] = System.Runtime.GCSettings.IsServerGC,
        ["journal_tag_mode"] = TagWriteMode ?? "TagTable (platform default)",
        ["journal"] = "PostgreSqlJournal (batched; Max Auto Prepare=20 unless the connection string sets it)",
    };
}

/// <summary>One node (a cluster of itself) hosting <see cref="BenchAccount"/> on PostgreSQL through Akka.Hosting.</summary>
public sealed class PlatformHost : IAsyncDisposable
{
    private readonly IHost _host;

    private PlatformHost(IHost host, ActorSystem system, AggregateRepository<BenchAccountState> repository)
    {
        _host = host;
        System = system;
        Repository = repository;
    }

    public ActorSystem System { get; }
    public AggregateRepository<BenchAccountState> Repository { get; }

    public static async Task<PlatformHost> StartAsync(string connectionString, PlatformSettings settings)
    {
        if (settings.AutoPrepare)
            connectionString = new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 20, AutoPrepareMinUsages = 2 }.ConnectionString;
        var overrides = settings.TagWriteMode is { } mode
            ? $"akka.persistence.journal.sql.tag-write-mode = {mode}\nakka.persistence.query.journal.sql.tag-read-mode = {mode}\n"
            : "";
        // Diagnosis only (BENCH_IDEMPOTENCY_WINDOW=0s measures the aggregates without command ids and resends).
        if (Environment.GetEnvironmentVariable("BENCH_IDEMPOTENCY_WINDOW") is { Length: > 0 } window)
            overrides += $"akka.event-driven.event-sourcing.idempotency.window = {window}\n";
        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(services => services.AddAkka("bench", builder => builder
                .WithEventDriven(o =>
                {
                    BenchAccount.Register(o.Registry);
                    o.Persistence.Provider = StoreProvider.PostgreSql;
                    o.Persistence.ConnectionString = connectionString;
                    o.Persistence.BatchSize = settings.BatchSize;
                    o.Persistence.Parallelism = settings.Parallelism;
                    o.AddAggregate(BenchAccount.Definition, a =>
                    {
                        a.SnapshotEvery = settings.SnapshotEvery;
                        a.AskTimeout = TimeSpan.FromSeconds(30);
                    });
                })
                // Added after WithEventDriven (also prepended), so these win: a private node on a free port.
                .AddHocon("""
                    akka {
                      loglevel = WARNING
                      remote.dot-netty.tcp {
                        hostname = "127.0.0.1"
                        port = 0
                      }
                      cluster.min-nr-of-members = 1
                      coordinated-shutdown.exit-clr = off
                    }
                    """ + "\n" + overrides, HoconAddMode.Prepend)))
            .Build();
        await host.StartAsync();
        var system = host.Services.GetRequiredService<ActorSystem>();
        var repository = Aggregates.Get(system).Repository(BenchAccount.Definition);
        return new PlatformHost(host, system, repository);
    }

    /// <summary>The exact bytes and manifest the journal stores for one <see cref="Deposited"/> event.</summary>
    public (byte[] Payload, string Manifest) SampleEvent()
    {
        var e = new DomainEvent(new Deposited(1, "deposit-reference-0123456789"), new EventMetadata(DateTimeOffset.UtcNow));
        var serializer = (Akka.Serialization.SerializerWithStringManifest)System.Serialization.FindSerializerFor(e);
        return (serializer.ToBinary(e), serializer.Manifest(e));
    }

    public async ValueTask DisposeAsync()
    {
        try { await _host.StopAsync(TimeSpan.FromSeconds(20)); }
        finally { _host.Dispose(); }
    }
}
