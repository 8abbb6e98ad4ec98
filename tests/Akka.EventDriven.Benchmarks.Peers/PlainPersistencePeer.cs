using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql;
using Npgsql;

namespace Akka.EventDriven.Benchmarks.Peers;

/// <summary>The reply of a <see cref="PlainAccount"/> once its event is journaled.</summary>
public sealed record DepositJournaled(long Balance);

/// <summary>
/// A plain persistent actor, as an Akka.Persistence user writes one without Akka.EventDriven: a Deposit persists one
/// Deposited event and replies once it is journaled. <c>Persist</c> stashes the commands that arrive during the write;
/// <c>PersistAsync</c> lets the next commands' writes start while earlier ones are in flight.
/// </summary>
public sealed class PlainAccount : ReceivePersistentActor
{
    private long _balance;

    public PlainAccount(string persistenceId, bool persistAsync)
    {
        PersistenceId = persistenceId;
        Recover<Deposited>(e => _balance += e.Amount);
        Command<Deposit>(c =>
        {
            var sender = Sender;
            var e = new Deposited(c.Amount, "deposit-reference-0123456789");
            if (persistAsync) PersistAsync(e, ev => Reply(sender, ev));
            else Persist(e, ev => Reply(sender, ev));
        });
    }

    public override string PersistenceId { get; }

    private void Reply(IActorRef sender, Deposited e)
    {
        _balance += e.Amount;
        sender.Tell(new DepositJournaled(_balance));
    }
}

/// <summary>
/// Plain Akka.Persistence.Sql (its own journal, on a database of its own on the suite's server): the <c>append</c>
/// workload's aggregates as plain local persistent actors (no sharding), the same commands in flight on each through
/// <c>Ask</c>. Defaults: the plugin's settings as shipped and <c>Persist</c>. Tuned: journal <c>batch-size = 2000</c> and
/// <c>PersistAsync</c>, its best settings measured here.
/// </summary>
public sealed class PlainPersistencePeer : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly IActorRef[] _actors;
    private readonly string _connectionString;
    private readonly string _database;
    private readonly string _adminConnectionString;
    private long _acked;

    /// <summary>Connections the plugin's Npgsql pool may open.</summary>
    public const int MaxPoolSize = 20;

    private PlainPersistencePeer(ActorSystem system, IActorRef[] actors, string connectionString, string database, string admin)
    {
        _system = system;
        _actors = actors;
        _connectionString = connectionString;
        _database = database;
        _adminConnectionString = admin;
    }

    public int InFlightPerActor { get; private init; }

    /// <summary>Events acknowledged so far (activation, warm-ups and tails included).</summary>
    public long Acknowledged => Interlocked.Read(ref _acked);

    /// <summary>Creates database <paramref name="database"/> on the server of <paramref name="connectionString"/>, starts
    /// an actor system on it and activates <paramref name="actors"/> actors with one command each.</summary>
    public static async Task<PlainPersistencePeer> StartAsync(string connectionString, string database, bool tuned,
        int actors, int inFlightPerActor)
    {
        await using (var admin = new NpgsqlConnection(connectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE); CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        // A bounded pool: the sides share the server's connection slots (the journal writes on at most `parallelism`).
        var cs = new NpgsqlConnectionStringBuilder(connectionString) { Database = database, MaxPoolSize = MaxPoolSize }.ConnectionString;
        var tuning = tuned ? "batch-size = 2000" : "";
        var config = ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = WARNING
              persistence {
                journal {
                  plugin = "akka.persistence.journal.sql"
                  sql {
                    connection-string = "{{cs}}"
                    provider-name = "PostgreSQL.15"
                    table-mapping = postgresql
                    auto-initialize = on
                    {{tuning}}
                  }
                }
                snapshot-store {
                  plugin = "akka.persistence.snapshot-store.sql"
                  sql {
                    connection-string = "{{cs}}"
                    provider-name = "PostgreSQL.15"
                    table-mapping = postgresql
                    auto-initialize = on
                  }
                }
              }
            }
            """).WithFallback(SqlPersistence.DefaultConfiguration);
        var system = ActorSystem.Create(tuned ? "aps-tuned" : "aps-defaults", config);
        var refs = Enumerable.Range(0, actors)
            .Select(i => system.ActorOf(Props.Create(() => new PlainAccount($"account-{i:D4}", tuned)), $"account-{i:D4}"))
            .ToArray();
        var peer = new PlainPersistencePeer(system, refs, cs, database, connectionString) { InFlightPerActor = inFlightPerActor };
        await Parallel.ForEachAsync(refs, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (a, _) =>
        {
            await a.Ask<DepositJournaled>(new Deposit(1), TimeSpan.FromSeconds(60));
            Interlocked.Increment(ref peer._acked);
        });
        return peer;
    }

    /// <summary>One round: <see cref="InFlightPerActor"/> Ask loops per actor; events acknowledged in the window.</summary>
    public async Task<Measurement> RunAsync(TimeSpan warmUp, TimeSpan measure)
    {
        var window = new MeasureWindow();
        var loops = _actors.SelectMany(a => Enumerable.Range(0, InFlightPerActor).Select(_ => Task.Run(async () =>
        {
            var command = new Deposit(1);
            while (!window.Stopped)
            {
                await a.Ask<DepositJournaled>(command, TimeSpan.FromSeconds(60));
                Interlocked.Increment(ref _acked);
                window.Add(1);
            }
        }))).ToArray();
        return await window.RunAsync(warmUp, measure, loops);
    }

    /// <summary>Every acknowledged event must be in the plugin's journal; throws otherwise.</summary>
    public async Task<long> CheckDurabilityAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM event_journal", connection);
        var rows = (long)(await cmd.ExecuteScalarAsync())!;
        if (rows < Acknowledged) throw new InvalidOperationException($"{_database}: {rows} journal rows < {Acknowledged} acknowledged events.");
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        await _system.Terminate();
        await using var admin = new NpgsqlConnection(_adminConnectionString);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }
}
