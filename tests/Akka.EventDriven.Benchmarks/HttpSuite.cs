using System.Diagnostics;
using System.Net;
using System.Text;
using Akka.Actor;
using Akka.EventDriven.Cqrs;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Http;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Benchmarks;

/// <summary>
/// <c>http</c>: the cost of the HTTP API over the same work done in process, on one node and one PostgreSQL.
/// Commands: 64 concurrent HTTP/1.1 keep-alive clients (one connection each, one command in flight each, each on its
/// own aggregate) sending <c>POST /api/commands</c>, against 64 in-process loops sending the same commands through
/// <see cref="CommandBus.ExecuteAsync"/> (goal: ratio ≥ 0.7; p50/p99 latency of both). Publishes: the same 64
/// clients on <c>POST /api/topics/{t}</c> against <see cref="MessageBus.PublishAsync"/> (fast path, goal ≥ 0.7).
/// Rounds alternate A B A B (which side goes first swaps each round); each figure is the median of its rounds, with
/// min–max. The clients run in the benchmark's own process, so their CPU counts against the HTTP side.
/// </summary>
public static class HttpSuite
{
    private const int Clients = 64;
    private const string Key = "bench-key-0123456789abcdef";

    /// <summary>A deposit routed in process to one account (the HTTP side names the account in the body instead).</summary>
    public sealed record AccountDeposit(string AccountId, long Amount);

    private sealed record Round(Measurement Run, List<double> LatenciesMs, double CpuMicrosPerOp, double BytesAllocatedPerOp)
    {
        public double PerSecond => Run.PerSecond;
    }

    public static async Task<SuiteResult> RunAsync(RunContext ctx)
    {
        var (warmUp, measure, rounds) = ctx.Quick
            ? (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), 4)
            : (TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8), 6);
        await using var app = await StartAsync(ctx.ConnectionString);
        var system = app.Services.GetRequiredService<ActorSystem>();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var repository = Aggregates.Get(system).Repository(BenchAccount.Definition);
        var commands = new CommandBus().Register<AccountDeposit>(async (c, ct) =>
            await repository.SendAsync(c.AccountId, new Deposit(c.Amount), null, ct) switch
            {
                CommandAccepted a => CommandOutcome.Ok(a),
                CommandRejected r => CommandOutcome.Fail(CommandErrorKind.Rejected, r.Reason),
                var other => CommandOutcome.Fail(CommandErrorKind.Failed, other.GetType().Name),
            });
        var bus = MessageBus.Get(system);
        var clients = Enumerable.Range(0, Clients).Select(_ =>
        {
            var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
            {
                BaseAddress = new Uri(address),
                DefaultRequestVersion = HttpVersion.Version11,
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            client.DefaultRequestHeaders.Add("X-Api-Key", Key);
            return client;
        }).ToArray();
        var ids = Enumerable.Range(0, Clients).Select(i => $"{ctx.RunId}-h{i:D2}").ToArray();
        var topic = $"bench.http.{ctx.RunId}";

        // The measured clients: a load generator's raw HTTP/1.1 connections (RawHttpClient), each request's bytes built
        // once. HttpClient is measured beside them on commands, for a figure with .NET's client library in the process.
        var uri = new Uri(address);
        var raw = await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => RawHttpClient.ConnectAsync(uri)));
        var commandRequests = ids.Select(id => RawHttpClient.Post(uri, "/api/commands", CommandJson(id), ("X-Api-Key", Key))).ToArray();
        var noopRequests = ids.Select(id => RawHttpClient.Post(uri, "/bench/noop", CommandJson(id))).ToArray();
        var publishRequest = RawHttpClient.Post(uri, $"/api/topics/{topic}", PublishJson, ("X-Api-Key", Key));
        var durableTopic = $"bench.http.durable.{ctx.RunId}";
        var durableRequest = RawHttpClient.Post(uri, $"/api/topics/{durableTopic}", PublishJson.Replace("{\"type\"", "{\"persistent\":true,\"type\""), ("X-Api-Key", Key));
        async Task RawCommand(int i)
        {
            if (await raw[i].SendAsync(commandRequests[i]) is var status and not 200) throw new InvalidOperationException($"HTTP command: {status}");
        }
        async Task RawNoop(int i)
        {
            if (await raw[i].SendAsync(noopRequests[i]) is var status and not 200) throw new InvalidOperationException($"noop: {status}");
        }
        async Task HttpClientCommand(int i)
        {
            using var r = await clients[i].PostAsync("/api/commands", CommandBody(ids[i]));
            if (r.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"HTTP command: {(int)r.StatusCode}");
        }
        async Task BusCommand(int i)
        {
            if (!(await commands.ExecuteAsync(new AccountDeposit(ids[i], 1))).Success) throw new InvalidOperationException("command failed");
        }

        // Activation: every account exists and every connection is open before the clock starts.
        await Parallel.ForEachAsync(Enumerable.Range(0, Clients), async (i, _) =>
        {
            if (!(await commands.ExecuteAsync(new AccountDeposit(ids[i], 1))).Success) throw new InvalidOperationException("activation failed");
            using var r = await clients[i].PostAsync("/api/commands", CommandBody(ids[i]));
            if (r.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"HTTP activation: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            await RawCommand(i);
            await RawNoop(i);
        });

        // Diagnosis: BENCH_HTTP_ONLY=<measurement> runs that one measurement for BENCH_HTTP_SECONDS (default 30) and
        // stops: a steady load to attach dotnet-trace or dotnet-counters to.
        if (Environment.GetEnvironmentVariable("BENCH_HTTP_ONLY") is { Length: > 0 } only)
        {
            var seconds = int.TryParse(Environment.GetEnvironmentVariable("BENCH_HTTP_SECONDS"), out var s) ? s : 30;
            Func<int, Task> op = only switch
            {
                "commands-http" => RawCommand,
                "commands-httpclient" => HttpClientCommand,
                "commands-bus" => BusCommand,
                "noop-http" => RawNoop,
                _ => throw new ArgumentException($"BENCH_HTTP_ONLY={only}: commands-http, commands-httpclient, commands-bus or noop-http"),
            };
            Log($"pid {Environment.ProcessId}: {only} for {seconds} s");
            var single = await MeasureAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(seconds), op);
            Log($"{only}: {single.PerSecond:0}/s, {single.CpuMicrosPerOp:0} µs CPU and {single.BytesAllocatedPerOp:0} B allocated per operation (this process)");
            var diagnosis = new Comparison(only, "operations/s", null, "the same measurement (diagnosis run: no baseline)", only);
            diagnosis.Add(single.Run, single.Run, platformFirst: false);
            return new SuiteResult([diagnosis], new Dictionary<string, object?> { ["only"] = only });
        }

        var httpCommands = new List<Round>();
        var busCommands = new List<Round>();
        var httpPublishes = new List<Round>();
        var noops = new List<Round>();
        var httpClientCommands = new List<Round>();
        var httpDurable = new List<Round>();
        var busDurable = new List<Round>();
        var busPublishes = new List<Round>();
        var published = new Deposited(1, "deposit-reference-0123456789");
        for (var round = 0; round < rounds; round++)
        {
            Func<Task> a = async () => httpCommands.Add(await MeasureAsync(warmUp, measure, RawCommand));
            Func<Task> f = async () => httpClientCommands.Add(await MeasureAsync(warmUp, measure, HttpClientCommand));
            Func<Task> b = async () => busCommands.Add(await MeasureAsync(warmUp, measure, BusCommand));
            Func<Task> c = async () => httpPublishes.Add(await MeasureAsync(warmUp, measure, async i =>
            {
                if (await raw[i].SendAsync(publishRequest) is var status and not 202) throw new InvalidOperationException($"HTTP publish: {status}");
            }));
            Func<Task> d = async () => busPublishes.Add(await MeasureAsync(warmUp, measure, async _ => await bus.PublishAsync(topic, published)));
            // The transport's own ceiling on this machine: the same clients posting the same body to an endpoint that
            // parses it and answers a small JSON, with no platform behind it.
            Func<Task> e = async () => noops.Add(await MeasureAsync(warmUp, measure, RawNoop));
            // Durable publishes: each one appended to the topic's log in the journal before its receipt.
            Func<Task> g = async () => httpDurable.Add(await MeasureAsync(warmUp, measure, async i =>
            {
                if (await raw[i].SendAsync(durableRequest) is var status and not 202) throw new InvalidOperationException($"HTTP durable publish: {status}");
            }));
            var durable = new EventBus.PublishOptions { Persistent = true };
            Func<Task> h = async () => busDurable.Add(await MeasureAsync(warmUp, measure, async _ => await bus.PublishAsync(durableTopic, published, durable)));
            var order = round % 2 == 0 ? new[] { a, b, c, d, g, h, e, f } : [f, e, h, g, b, a, d, c];
            foreach (var run in order) await run();
            Log($"round {round + 1}/{rounds}: commands http {httpCommands[^1].PerSecond:0}/s, in process {busCommands[^1].PerSecond:0}/s; " +
                $"publishes http {httpPublishes[^1].PerSecond:0}/s, in process {busPublishes[^1].PerSecond:0}/s; transport ceiling {noops[^1].PerSecond:0}/s; " +
                $"durable publishes http {httpDurable[^1].PerSecond:0}/s, in process {busDurable[^1].PerSecond:0}/s; " +
                $"commands through HttpClient {httpClientCommands[^1].PerSecond:0}/s");
        }
        foreach (var client in clients) client.Dispose();
        foreach (var client in raw) client.Dispose();

        var commandRatio = Median(httpCommands) / Median(busCommands);
        var publishRatio = Median(httpPublishes) / Median(busPublishes);
        var durableRatio = Median(httpDurable) / Median(busDurable);
        Log($"commands: http {Median(httpCommands):0}/s (p50 {P(httpCommands, 50):0.00} ms, p99 {P(httpCommands, 99):0.00} ms) / in process " +
            $"{Median(busCommands):0}/s (p50 {P(busCommands, 50):0.00} ms, p99 {P(busCommands, 99):0.00} ms) = {commandRatio:0.000}");
        Log($"publishes: http {Median(httpPublishes):0}/s / in process {Median(busPublishes):0}/s = {publishRatio:0.000}");
        Log($"durable publishes: http {Median(httpDurable):0}/s (p50 {P(httpDurable, 50):0.00} ms) / in process {Median(busDurable):0}/s (p50 {P(busDurable, 50):0.00} ms) = {durableRatio:0.000}");
        Log($"transport ceiling (POST parsed, small JSON answered, no platform): {Median(noops):0}/s (p50 {P(noops, 50):0.00} ms, p99 {P(noops, 99):0.00} ms)");
        // Even rounds ran HTTP first, odd rounds in process first.
        Comparison Compare(string name, string unit, List<Round> inProcess, List<Round> http, string baselineKind, string platformKind)
        {
            var c = new Comparison(name, unit, 0.7, baselineKind, platformKind);
            for (var i = 0; i < http.Count; i++) c.Add(inProcess[i].Run, http[i].Run, platformFirst: i % 2 == 0);
            return c;
        }
        var comparisons = new List<Comparison>
        {
            Compare("commands", "commands/s", busCommands, httpCommands, "CommandBus.ExecuteAsync, 64 loops, 1 in flight each, 64 aggregates",
                "POST /api/commands, 64 raw HTTP/1.1 keep-alive connections (load-generator client), 1 in flight each, 64 aggregates"),
            Compare("publishes", "publishes/s", busPublishes, httpPublishes, "MessageBus.PublishAsync (fast path), 64 loops, 1 in flight each",
                "POST /api/topics/{t} (fast path), 64 raw HTTP/1.1 keep-alive connections, 1 in flight each"),
            Compare("durable-publishes", "publishes/s", busDurable, httpDurable, "MessageBus.PublishAsync with Persistent = true, 64 loops, 1 in flight each",
                "POST /api/topics/{t} with persistent: true, 64 raw HTTP/1.1 keep-alive connections, 1 in flight each"),
        };
        return new SuiteResult(comparisons, new Dictionary<string, object?>
            {
                ["run_id"] = ctx.RunId,
                ["clients"] = Clients,
                ["rounds"] = rounds,
                ["warm_up_s"] = warmUp.TotalSeconds,
                ["measure_s"] = measure.TotalSeconds,
                ["order"] = "alternating: even rounds HTTP first, odd rounds in-process first",
                ["commands"] = new Dictionary<string, object?>
                {
                    ["ratio"] = Math.Round(commandRatio, 3),
                    ["goal"] = 0.7,
                    ["http"] = Describe(httpCommands, "POST /api/commands, 64 raw HTTP/1.1 keep-alive connections (load-generator client), 1 in flight each, 64 aggregates"),
                    ["http_httpclient"] = Describe(httpClientCommands, "the same through System.Net.Http.HttpClient (one per connection), whose CPU shares the 2 cores"),
                    ["in_process"] = Describe(busCommands, "CommandBus.ExecuteAsync, 64 loops, 1 in flight each, 64 aggregates"),
                },
                ["durable_publishes"] = new Dictionary<string, object?>
                {
                    ["ratio"] = Math.Round(durableRatio, 3),
                    ["goal"] = 0.7,
                    ["http"] = Describe(httpDurable, "POST /api/topics/{t} with persistent: true, 64 raw HTTP/1.1 keep-alive connections, 1 in flight each"),
                    ["in_process"] = Describe(busDurable, "MessageBus.PublishAsync with Persistent = true, 64 loops, 1 in flight each"),
                },
                ["transport_ceiling"] = Describe(noops, "POST /bench/noop: the body parsed as JSON, a small JSON answered, same clients, no platform"),
                ["publishes"] = new Dictionary<string, object?>
                {
                    ["ratio"] = Math.Round(publishRatio, 3),
                    ["goal"] = 0.7,
                    ["http"] = Describe(httpPublishes, "POST /api/topics/{t} (fast path), 64 raw HTTP/1.1 keep-alive connections, 1 in flight each"),
                    ["in_process"] = Describe(busPublishes, "MessageBus.PublishAsync (fast path), 64 loops, 1 in flight each"),
                    ["subscribers"] = 0,
                },
            });
    }

    private static string CommandJson(string id) => $$$"""{"type":"bench.deposit","aggregateId":"{{{id}}}","payload":{"amount":1}}""";

    private static StringContent CommandBody(string id) => new(CommandJson(id), Encoding.UTF8, "application/json");

    private const string PublishJson = """{"type":"bench.deposited","payload":{"amount":1,"reference":"deposit-reference-0123456789"}}""";

    /// <summary>64 loops of <paramref name="operation"/> (given the loop's index): the rate over <paramref name="measure"/>
    /// after <paramref name="warmUp"/>, and the latency of each operation completed in the measured window.</summary>
    private static async Task<Round> MeasureAsync(TimeSpan warmUp, TimeSpan measure, Func<int, Task> operation)
    {
        var window = new MeasureWindow();
        var measuring = 0;
        var latencies = new List<double>[Clients];
        var loops = Enumerable.Range(0, Clients).Select(i => Task.Run(async () =>
        {
            var mine = latencies[i] = new List<double>(1 << 14);
            while (!window.Stopped)
            {
                var started = Stopwatch.GetTimestamp();
                await operation(i);
                if (Volatile.Read(ref measuring) == 1) mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                window.Add(1);
            }
        })).ToArray();
        long allocated0 = 0;
        _ = Task.Delay(warmUp).ContinueWith(_ =>
        {
            allocated0 = GC.GetTotalAllocatedBytes();
            Volatile.Write(ref measuring, 1);
        });
        var m = await window.RunAsync(warmUp, measure, loops);
        var allocated = GC.GetTotalAllocatedBytes() - Volatile.Read(ref allocated0);
        return new Round(m, latencies.SelectMany(l => l).ToList(), m.Count == 0 ? 0 : m.ProcessCpuSeconds * 1e6 / m.Count,
            m.Count == 0 ? 0 : allocated / (double)m.Count);
    }

    private static double Median(List<Round> rounds)
    {
        var sorted = rounds.Select(r => r.PerSecond).Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static double P(List<Round> rounds, double percentile)
    {
        var all = rounds.SelectMany(r => r.LatenciesMs).Order().ToList();
        return all.Count == 0 ? 0 : all[Math.Min(all.Count - 1, (int)Math.Ceiling(percentile / 100 * all.Count) - 1)];
    }

    private static Dictionary<string, object?> Describe(List<Round> rounds, string kind) => new()
    {
        ["kind"] = kind,
        ["median_per_s"] = Math.Round(Median(rounds), 1),
        ["min_per_s"] = Math.Round(rounds.Min(r => r.PerSecond), 1),
        ["max_per_s"] = Math.Round(rounds.Max(r => r.PerSecond), 1),
        ["rounds_per_s"] = rounds.Select(r => Math.Round(r.PerSecond, 1)).ToArray(),
        ["latency_p50_ms"] = Math.Round(P(rounds, 50), 3),
        ["latency_p99_ms"] = Math.Round(P(rounds, 99), 3),
        ["allocated_bytes_per_op_median"] = Math.Round(rounds.Select(r => r.BytesAllocatedPerOp).Order().ElementAt(rounds.Count / 2)),
        ["cpu_us_per_op_median"] = Math.Round(rounds.Select(r => r.CpuMicrosPerOp).Order().ElementAt(rounds.Count / 2), 1),
    };

    /// <summary>A node with the HTTP API on 127.0.0.1:0, the bench aggregate and the bus, on PostgreSQL with the
    /// journal settings of the other suites (batch-size 2000, parallelism 2).</summary>
    private static async Task<WebApplication> StartAsync(string connectionString)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddAkka("bench", b => b
            .WithEventDriven(o =>
            {
                BenchAccount.Register(o.Registry);
                o.Persistence.Provider = StoreProvider.PostgreSql;
                o.Persistence.ConnectionString = connectionString;
                o.Persistence.BatchSize = 2000;
                o.Persistence.Parallelism = 2;
                o.AddAggregate(BenchAccount.Definition, a => a.AskTimeout = TimeSpan.FromSeconds(30));
            })
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
                """, HoconAddMode.Prepend)
            .WithEventBus());
        builder.Services.AddEventDrivenHttp(o =>
        {
            o.AddApiKeys($"{Key}:admin");
            o.RequestsPerSecond = 10_000_000; // the limiter stays in the path, its limit out of the way
            o.RouteCommands(BenchAccount.Definition, typeof(Deposit));
            if (Environment.GetEnvironmentVariable("BENCH_HTTP_NOAUTH") == "1") o.RequireApiKey = false; // diagnosis only
        });
        var app = builder.Build();
        if (Environment.GetEnvironmentVariable("BENCH_HTTP_NOACTIVITY") == "1") // diagnosis only
            app.Use((context, next) => { Activity.Current = null; return next(context); });
        app.MapEventDriven();
        app.MapPost("/bench/noop", async (HttpContext context) =>
        {
            using var document = await System.Text.Json.JsonDocument.ParseAsync(context.Request.Body);
            return Results.Json(new { success = true, type = document.RootElement.GetProperty("type").GetString() });
        });
        await app.StartAsync();
        return app;
    }

    private static void Log(string message) => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] http: {message}");
}
