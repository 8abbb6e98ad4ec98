using Akka.Actor;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Sagas;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

/// <summary>The input of the crash test's saga.</summary>
public sealed class CrashOrder
{
    public string RunId { get; set; } = "";
    public bool FailAtLast { get; set; }
}

/// <summary>
/// Saga mode of the test node: <c>saga &lt;postgres-url&gt; &lt;run-id&gt; start|resume</c>.
/// <c>start</c> starts two sagas (one that completes, one whose last step always fails) whose second step hangs in
/// this process, prints "in-step &lt;id&gt;" and waits to be killed; <c>start-many N</c> does the same with N sagas, every
/// other one failing at its last step; <c>resume</c> only starts a node (no command is sent
/// to any saga), so the sagas must resume by themselves. Every effect is a row in <c>saga_crash_effects</c>.
/// </summary>
public static class SagaCrashNode
{
    private static bool _hang;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length is not (3 or 4)) { Console.Error.WriteLine("usage: saga <postgres-url> <run-id> start|resume|start-many [count]"); return 2; }
        var (url, runId, mode) = (args[0], args[1], args[2]);
        var many = args.Length == 4 ? int.Parse(args[3]) : 0;
        _hang = mode is "start" or "start-many";
        var cs = StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, url);
        await using (var c = new NpgsqlConnection(cs))
        {
            await c.OpenAsync();
            await using var create = new NpgsqlCommand(
                "CREATE TABLE IF NOT EXISTS saga_crash_effects (id bigserial PRIMARY KEY, run_id text NOT NULL, saga_id text NOT NULL, effect text NOT NULL, idempotency_key text NOT NULL)", c);
            try { await create.ExecuteNonQueryAsync(); } catch (PostgresException e) when (e.SqlState is "23505" or "42P07") { }
        }

        async Task Record(SagaContext<CrashOrder> ctx, string effect)
        {
            await using var c = new NpgsqlConnection(cs);
            await c.OpenAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO saga_crash_effects (run_id, saga_id, effect, idempotency_key) VALUES ($1, $2, $3, $4)", c);
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ctx.Data.RunId });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ctx.SagaId });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = effect });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ctx.IdempotencyKey });
            await insert.ExecuteNonQueryAsync();
        }

        var output = TextWriter.Synchronized(Console.Out);
        var definition = SagaDefinition.Define<CrashOrder>("crash-order", s => s
            .Step("reserve", "Reserve", (ctx, _) => Record(ctx, "do:reserve"), compensation: (ctx, _) => Record(ctx, "undo:reserve"))
            .Step("charge", "Charge", async (ctx, ct) =>
            {
                await Record(ctx, "do:charge");
                if (!_hang) return;
                output.WriteLine($"in-step {ctx.SagaId}");
                output.Flush();
                await Task.Delay(Timeout.Infinite, ct);
            }, compensation: (ctx, _) => Record(ctx, "undo:charge"), timeout: TimeSpan.FromMinutes(5))
            .Step("ship", "Ship", async (ctx, _) =>
            {
                await Record(ctx, "try:ship");
                if (ctx.Data.FailAtLast) throw new InvalidOperationException("carrier unavailable");
                await Record(ctx, "do:ship");
            }, compensation: (ctx, _) => Record(ctx, "undo:ship"),
                retry: new RetryPolicy(2, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1))));

        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            .ConfigureServices(s => s.AddAkka("sagacrashnode", b => b
                .WithEventDriven(o =>
                {
                    o.Persistence.Provider = StoreProvider.PostgreSql;
                    o.Persistence.ConnectionString = url;
                })
                .WithSagas(o =>
                {
                    o.Add(definition);
                    o.IndexTable = $"saga_index_{runId}";
                    o.ResumeInterval = TimeSpan.FromSeconds(2);
                })
                .AddHocon("akka.loglevel = ERROR\nakka.remote.dot-netty.tcp.port = 0\nakka.remote.dot-netty.tcp.hostname = \"127.0.0.1\"", HoconAddMode.Prepend)))
            .Build();
        await host.StartAsync();
        var sagas = SagaOrchestrator.Get(host.Services.GetRequiredService<ActorSystem>());
        if (mode == "start-many")
        {
            // Many sagas at once, every other one failing at its last step; each hangs in "charge" in this process.
            await Task.WhenAll(Enumerable.Range(0, many).Select(async i =>
            {
                var fail = i % 2 == 1;
                var id = await sagas.ExecuteAsync("crash-order", new CrashOrder { RunId = runId, FailAtLast = fail });
                output.WriteLine($"started {(fail ? "fail" : "ok")} {id}");
                output.Flush();
            }));
        }
        if (mode == "start")
        {
            foreach (var (kind, fail) in new[] { ("ok", false), ("fail", true) })
            {
                var id = await sagas.ExecuteAsync("crash-order", new CrashOrder { RunId = runId, FailAtLast = fail });
                output.WriteLine($"started {kind} {id}");
                output.Flush();
            }
        }
        output.WriteLine("ready");
        output.Flush();
        await Task.Delay(Timeout.Infinite);
        return 0;
    }
}
