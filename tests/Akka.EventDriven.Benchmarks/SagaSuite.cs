using System.Text.Json;
using Akka.Actor;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Sagas;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Akka.EventDriven.Benchmarks;

/// <summary>Data of the benchmark saga.</summary>
public sealed class BenchSagaData
{
    public string OrderId { get; set; } = "";
    public int Steps { get; set; }
}

/// <summary>
/// <c>saga</c>: completed 3-step sagas per second on PostgreSQL (each started with ExecuteAsync and awaited with
/// WaitForCompletionAsync from <see cref="Loops"/> concurrent loops; the steps do no I/O, so this measures the
/// orchestration) against the <c>append</c> baseline (raw NpgsqlBatch of 100 INSERTs per transaction on 2 connections,
/// measured in the same run) divided by the journal writes one saga needs: 4 atomic writes (started; step 1; step 2;
/// step 3 + completed), i.e. 5 events. The index of running sagas adds 2 group-committed row writes per saga (reported).
/// </summary>
public static class SagaSuite
{
    public const int JournalWritesPerSaga = 4;
    public const int EventsPerSaga = 5;
    private static readonly int Loops = int.TryParse(Environment.GetEnvironmentVariable("BENCH_SAGA_LOOPS"), out var l) ? l : 1000;

    private static readonly SagaDefinition<BenchSagaData> Definition = SagaDefinition.Define<BenchSagaData>("bench-order", s => s
        .Step("reserve", "Reserve", (ctx, _) => { ctx.Data.Steps++; return Task.CompletedTask; }, compensation: (_, _) => Task.CompletedTask)
        .Step("charge", "Charge", (ctx, _) => { ctx.Data.Steps++; return Task.CompletedTask; }, compensation: (_, _) => Task.CompletedTask)
        .Step("ship", "Ship", (ctx, _) => { ctx.Data.Steps++; return Task.CompletedTask; }));

    public static async Task<SuiteResult> RunAsync(RunContext ctx)
    {
        var measure = Suites.Measure(ctx.Quick);

        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(lg => lg.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(services => services.AddAkka("bench", builder => builder
                .WithEventDriven(o =>
                {
                    o.Persistence.Provider = StoreProvider.PostgreSql;
                    o.Persistence.ConnectionString = ctx.ConnectionString;
                })
                .WithSagas(o =>
                {
                    o.Add(Definition);
                    o.IndexTable = $"saga_index_{ctx.RunId}";
                })
                .AddHocon("""
                    akka {
                      loglevel = WARNING
                      remote.dot-netty.tcp {
                        hostname = "127.0.0.1"
                        port = 0
                      }
                      coordinated-shutdown.exit-clr = off
                    }
                    akka.event-driven.sagas.ask-timeout = 60s
                    """, HoconAddMode.Prepend)))
            .Build();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var sagas = SagaOrchestrator.Get(system);

            // ---- Baseline: the append suite's raw baseline, on a saga event's bytes.
            var sample = new DomainEvent(new SagaStepCompleted("charge", 1, JsonSerializer.SerializeToElement(new BenchSagaData { OrderId = "order-0000000", Steps = 2 }),
                DateTimeOffset.UtcNow), new EventMetadata(DateTimeOffset.UtcNow, "saga-correlation-0123456789"));
            var serializer = (Akka.Serialization.SerializerWithStringManifest)system.Serialization.FindSerializerFor(sample);
            var (payload, manifest) = (serializer.ToBinary(sample), serializer.Manifest(sample));
            await RawBaseline.PrepareTableAsync(ctx.RawConnectionString);

            long next = 0, wrong = 0, completedTotal = 0;
            async Task<Measurement> SagaRound(int round)
            {
                var window = new MeasureWindow();
                var loops = Enumerable.Range(0, Loops).Select(_ => Task.Run(async () =>
                {
                    while (!window.Stopped)
                    {
                        var n = Interlocked.Increment(ref next);
                        var id = $"{ctx.RunId}-{n}";
                        await sagas.ExecuteAsync(Definition.Name, new BenchSagaData { OrderId = $"order-{n}" }, new SagaStartOptions { SagaId = id });
                        var status = await sagas.WaitForCompletionAsync(id, TimeSpan.FromSeconds(60));
                        if (status.State != SagaState.Completed || sagas.DataOf<BenchSagaData>(status).Steps != 3) Interlocked.Increment(ref wrong);
                        window.Add(1);
                        Interlocked.Increment(ref completedTotal);
                    }
                })).ToArray();
                return await window.RunAsync(Suites.WarmUp(round, ctx.Quick), measure, loops);
            }

            // Baseline rounds are the append suite's raw writes; their count is scaled to saga equivalents (rows ÷ 4), so
            // that both sides' figures and CPU per 1,000 are per saga.
            Log($"{Suites.Pairs} pairs of rounds: raw NpgsqlBatch of 100 INSERTs per transaction on 2 connections against " +
                $"{Loops} loops each running one 3-step saga at a time; measure {measure.TotalSeconds} s each");
            var comparison = await new Comparison("saga", "sagas/s", 0.5,
                    $"raw Npgsql: NpgsqlBatch of 100 single-row INSERTs per transaction, 2 connections (the append suite's), rows/s ÷ {JournalWritesPerSaga} journal writes per saga",
                    $"{Loops} loops: ExecuteAsync + WaitForCompletionAsync of a 3-step saga without I/O")
                .AlternateAsync(Suites.Pairs,
                    async round =>
                    {
                        var rows = await RawBaseline.BatchedAsync(ctx.RawConnectionString, $"{ctx.RunId}-{round}", payload, manifest,
                            connections: 2, batchSize: 100, idsPerConnection: 200, Suites.WarmUp(round, ctx.Quick), measure);
                        return rows with { Count = rows.Count / JournalWritesPerSaga };
                    },
                    SagaRound);
            if (wrong > 0) throw new InvalidOperationException($"{wrong} sagas did not complete with the expected data.");

            // ---- Durability: every completed saga's 5 events are in the journal.
            await using var conn = new NpgsqlConnection(ctx.ConnectionString);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM event_journal WHERE persistence_id LIKE $1", conn);
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = $"saga:{ctx.RunId}-%" });
            var journalRows = (long)(await cmd.ExecuteScalarAsync())!;
            Log($"durability: {journalRows} journal rows for {completedTotal} completed sagas ({EventsPerSaga} events each)");
            if (journalRows < completedTotal * EventsPerSaga)
                throw new InvalidOperationException($"Durability check failed: {journalRows} rows < {completedTotal * EventsPerSaga}.");

            return new SuiteResult([comparison], new Dictionary<string, object?>
            {
                ["run_id"] = ctx.RunId,
                ["measure_s"] = measure.TotalSeconds,
                ["loops"] = Loops,
                ["saga"] = "3 steps without I/O (2 with compensations), started with ExecuteAsync and awaited with WaitForCompletionAsync",
                ["journal_writes_per_saga"] = JournalWritesPerSaga,
                ["journal_events_per_saga"] = EventsPerSaga,
                ["index_row_writes_per_saga"] = 2,
                ["platform_journal_events_per_s"] = Math.Round(comparison.PlatformMedian * EventsPerSaga, 1),
                ["baseline_rows_per_s"] = Math.Round(comparison.BaselineMedian * JournalWritesPerSaga, 1),
                ["durability_check"] = new Dictionary<string, object?>
                {
                    ["journal_rows"] = journalRows, ["completed_sagas_total"] = completedTotal, ["ok"] = true,
                },
                ["payload_bytes"] = payload.Length,
            });
        }
        finally
        {
            await host.StopAsync(TimeSpan.FromSeconds(20));
            host.Dispose();
        }
    }

    private static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
