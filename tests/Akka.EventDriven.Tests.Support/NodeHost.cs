using Akka.Actor;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Serialization;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>Where a test stores its events: a fresh SQLite file, or the private PostgreSQL of ./build.sh test.</summary>
public sealed record TestStore(StoreProvider Provider, string ConnectionString, string? Journal = null)
{
    public static TestStore NewSqlite() =>
        new(StoreProvider.Sqlite, $"Data Source={Path.Combine(Path.GetTempPath(), $"ed-test-{Guid.NewGuid():N}.db")}");

    public static TestStore PostgreSql()
    {
        var url = Environment.GetEnvironmentVariable("DATABASE_URL");
        if (string.IsNullOrWhiteSpace(url))
            throw new InvalidOperationException(
                "DATABASE_URL is not set: run the tests with ./build.sh test, which starts a private PostgreSQL.");
        return new(StoreProvider.PostgreSql, url);
    }

    /// <summary>PostgreSQL when DATABASE_URL is set, else SQLite.</summary>
    public static TestStore Best() =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("DATABASE_URL")) ? NewSqlite() : PostgreSql();
}

/// <summary>One node built the way users build it: a generic host with AddAkka + WithEventDriven, on hocon/test.conf.</summary>
public sealed class NodeHost : IAsyncDisposable
{
    private readonly IHost _host;

    private NodeHost(IHost host) => _host = host;

    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();

    public AggregateRepository<LedgerState> Ledger => Aggregates.Get(System).Repository(Tests.Ledger.Definition);

    public static async Task<NodeHost> StartAsync(TestStore store, MessageTypeRegistry? registry = null,
        Action<AggregateOptions>? aggregate = null, string? extraHocon = null, string systemName = "edtest",
        Action<AkkaConfigurationBuilder>? configure = null, string? environmentFile = null)
    {
        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            .ConfigureServices(services => services.AddAkka(systemName, b =>
            {
                b.WithEventDriven(o =>
                {
                    o.EnvironmentFile = environmentFile ?? "hocon/test.conf";
                    o.Registry = registry ?? LedgerTypes.Current();
                    o.Persistence.Provider = store.Provider;
                    o.Persistence.ConnectionString = store.ConnectionString;
                    o.Persistence.Journal = store.Journal;
                    o.AddAggregate(Tests.Ledger.Definition, aggregate);
                });
                if (extraHocon is not null) b.AddHocon(extraHocon, HoconAddMode.Prepend);
                if (FileLogger.Path is not null) b.AddHocon(FileLogger.Hocon, HoconAddMode.Prepend);
                configure?.Invoke(b);
            }))
            .Build();
        await host.StartAsync();
        return new NodeHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(cts.Token);
        _host.Dispose();
    }
}

/// <summary>When <c>ED_TEST_AKKA_LOG</c> names a file, every test node appends its Akka log (INFO and up, with the
/// node's address and the time) to it: what a loaded run's failure is read from afterwards.</summary>
public sealed class FileLogger : Akka.Actor.ReceiveActor
{
    private static readonly object Gate = new();
    private static StreamWriter? _writer; // one append-only writer per process, flushed line by line

    public static readonly string? Path = Environment.GetEnvironmentVariable("ED_TEST_AKKA_LOG") is { Length: > 0 } p ? p : null;

    public static string Hocon =>
        $"akka.loglevel = INFO\nakka.loggers = [\"Akka.Event.DefaultLogger\", \"{typeof(FileLogger).AssemblyQualifiedName}\"]";

    public FileLogger()
    {
        var system = Context.System.Name;
        Receive<Akka.Event.InitializeLogger>(_ => Sender.Tell(new Akka.Event.LoggerInitialized()));
        Receive<Akka.Event.LogEvent>(e =>
        {
            var line = $"{e.Timestamp:HH:mm:ss.fff} {e.LogLevel().ToString()[..4]} [{system}] {e.LogSource}: {e.Message}" +
                       (e.Cause is null ? "" : $" | {e.Cause.GetType().Name}: {e.Cause.Message}") + Environment.NewLine;
            lock (Gate)
            {
                _writer ??= new StreamWriter(new FileStream(Path!, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
                _writer.Write(line);
            }
        });
    }
}

/// <summary>A fresh database on the test PostgreSQL server, for tests that change tables.</summary>
public static class PrivateDatabase
{
    public static async Task<TestStore> CreateAsync()
    {
        var server = new Npgsql.NpgsqlConnectionStringBuilder(
            StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, TestStore.PostgreSql().ConnectionString));
        var database = $"t_{Guid.NewGuid():N}";
        await using (var connection = new Npgsql.NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand($"CREATE DATABASE {database}", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new TestStore(StoreProvider.PostgreSql,
            new Npgsql.NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = database }.ConnectionString);
    }
}
