using Akka.EventDriven.EventSourcing;
using Npgsql;

namespace Akka.EventDriven.Benchmarks;

/// <summary>
/// The platform side of the <c>append</c> workload: <see cref="Aggregates"/> <see cref="BenchAccount"/> aggregates,
/// <see cref="InFlightPerAggregate"/> <c>SendAsync</c> loops on each (3,200 commands in flight by default), one event per
/// command; a round counts the events of accepted commands. The peers harness runs the same object for our side.
/// </summary>
public sealed class AppendLoad
{
    private readonly AggregateRepository<BenchAccountState> _repository;
    private readonly string[] _ids;
    private long _accepted, _rejected, _acceptedEvents;

    private AppendLoad(AggregateRepository<BenchAccountState> repository, string[] ids, int inFlight, double activationSeconds)
    {
        _repository = repository;
        _ids = ids;
        InFlightPerAggregate = inFlight;
        ActivationSeconds = activationSeconds;
        _acceptedEvents = ids.Length;
    }

    public int Aggregates => _ids.Length;
    public int InFlightPerAggregate { get; }

    /// <summary>Time to start (and recover) every entity with its first command: not steady state, so not measured.</summary>
    public double ActivationSeconds { get; }

    public long CommandsAccepted => Interlocked.Read(ref _accepted);
    public long CommandsRejected => Interlocked.Read(ref _rejected);

    /// <summary>Events of every accepted command so far (activation, warm-ups and tails included).</summary>
    public long AcceptedEvents => Interlocked.Read(ref _acceptedEvents);

    /// <summary>The persistence-id pattern (SQL LIKE) of this load's aggregates.</summary>
    public string PersistenceIdPattern { get; private init; } = "";

    /// <summary>Creates the load over fresh aggregate ids of <paramref name="runId"/> and starts every entity with one
    /// command, so that the rounds see steady state rather than entities being created and recovered.</summary>
    public static async Task<AppendLoad> ActivateAsync(AggregateRepository<BenchAccountState> repository, string runId,
        int aggregates = 400, int inFlightPerAggregate = 8)
    {
        var ids = Enumerable.Range(0, aggregates).Select(i => $"{runId}-{i:D4}").ToArray();
        var activation = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (id, _) =>
        {
            if (await repository.SendAsync(id, new Deposit(1)) is not CommandAccepted)
                throw new InvalidOperationException($"Activation command to {id} was not accepted.");
        });
        return new AppendLoad(repository, ids, inFlightPerAggregate, activation.Elapsed.TotalSeconds)
        {
            PersistenceIdPattern = $"{BenchAccount.Definition.Name}-{runId}-%",
        };
    }

    /// <summary>One round: all loops run for <paramref name="warmUp"/> + <paramref name="measure"/>; events of the
    /// commands accepted in the measured window are counted.</summary>
    public async Task<Measurement> RunAsync(TimeSpan warmUp, TimeSpan measure)
    {
        var window = new MeasureWindow();
        var loops = new List<Task>(_ids.Length * InFlightPerAggregate);
        foreach (var id in _ids)
            for (var k = 0; k < InFlightPerAggregate; k++)
                loops.Add(Task.Run(async () =>
                {
                    var command = new Deposit(1);
                    while (!window.Stopped)
                    {
                        var result = await _repository.SendAsync(id, command);
                        if (result is CommandAccepted a)
                        {
                            Interlocked.Increment(ref _accepted);
                            Interlocked.Add(ref _acceptedEvents, a.Events.Count);
                            window.Add(a.Events.Count);
                        }
                        else Interlocked.Increment(ref _rejected);
                    }
                }));
        return await window.RunAsync(warmUp, measure, loops.ToArray());
    }

    /// <summary>Every accepted event (activation, warm-ups and tails included) must be in the journal; throws otherwise.</summary>
    public async Task<Dictionary<string, object?>> CheckDurabilityAsync(string connectionString)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT count(*), coalesce(avg(octet_length(payload)), 0)::float8 FROM event_journal WHERE persistence_id LIKE $1", conn);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = PersistenceIdPattern });
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        var (rows, avgPayload) = (reader.GetInt64(0), Math.Round(reader.GetDouble(1), 1));
        Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] durability: {rows} journal rows for this run, {AcceptedEvents} accepted events");
        if (rows < AcceptedEvents)
            throw new InvalidOperationException($"Durability check failed: {rows} journal rows < {AcceptedEvents} accepted events.");
        return new()
        {
            ["journal_rows"] = rows,
            ["accepted_events_total"] = AcceptedEvents,
            ["ok"] = true,
            ["journal_avg_payload_bytes"] = avgPayload,
        };
    }
}
