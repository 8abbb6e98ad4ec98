using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.EventBus.Internal;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Hosting;
using Akka.EventDriven.Serialization;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.EventDriven.Benchmarks;

[EventType("bench.threat", 1)] public sealed record BenchThreat(int Severity, string Source, string Indicator, long Sequence);
[EventType("bench.progress", 1)] public sealed record BenchProgress(string Node, string Mode, long Count);

/// <summary>
/// <c>pubsub</c>: (1) fast-path topic deliveries/s with three nodes as processes on loopback (a publisher on one, a
/// subscriber on each) ÷ raw DistributedPubSub with the same topology and message size (goal 0.9); (2) durable-topic
/// publish-acknowledged messages/s on PostgreSQL ÷ the append suite's raw baseline (goal 0.5), and end-to-end
/// delivery latency p50/p99 at half of that rate.
/// </summary>
public static class PubSubSuite
{
    private const string RawTopic = "bench.raw";
    private const string BusTopic = "bench.bus";
    private const string ProgressTopic = "bench.progress";
    private const string DurableTopic = "bench.durable";
    private const string LatencyTopic = "bench.latency";
    private const int ProgressEvery = 5_000;
    private const int DurablePartitions = 16;

    private static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    private static MessageTypeRegistry Types(MessageTypeRegistry r) =>
        r.Register<BenchThreat>("bench.threat").Register<BenchProgress>("bench.progress");

    private static async Task<IHost> StartNodeAsync(string name, int port, int seedPort, StoreProvider provider, string connectionString, bool durable)
    {
        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(services => services.AddAkka("benchps", builder => builder
                .WithEventDriven(o =>
                {
                    Types(o.Registry);
                    o.Persistence.Provider = provider;
                    o.Persistence.ConnectionString = connectionString;
                })
                .AddHocon($$"""
                    akka {
                      loglevel = {{(durable ? "WARNING" : "ERROR")}}
                      remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
                      cluster {
                        seed-nodes = ["akka.tcp://benchps@127.0.0.1:{{seedPort}}"]
                        gossip-interval = 200ms
                        pub-sub.gossip-interval = 200ms
                      }
                      coordinated-shutdown.exit-clr = off
                    }
                    akka.event-driven.bus {
                      subscriber-buffer-size = 200000
                      routing-refresh-interval = 200ms
                      durable {
                        poll-interval = 250ms
                        topics { "{{DurableTopic}}" { partitions = {{DurablePartitions}} }
                          "{{LatencyTopic}}" { partitions = {{DurablePartitions}} } }
                      }
                    }
                    akka.event-driven.event-sourcing.aggregates.EdBusLog { snapshot-every = 0, ask-timeout = 30s }
                    """, HoconAddMode.Prepend)
                .WithEventBus(o => o.HostDurableConsumers = durable))).Build();
        await host.StartAsync();
        Log($"{name}: node up on 127.0.0.1:{port}");
        return host;
    }

    /// <summary>Counts deliveries of the raw topic.</summary>
    private sealed class RawCounter : ReceiveActor
    {
        public RawCounter(long[] count)
        {
            Receive<byte[]>(_ => count[0]++);
            Receive<SubscribeAck>(_ => { });
        }
    }

    /// <summary>Subscribes a raw and a bus counter on this node and reports their exact counts every 10 ms when they changed.</summary>
    private static async Task SubscribeCountersAsync(ActorSystem system, string node)
    {
        var bus = MessageBus.Get(system);
        var rawCount = new long[1];
        var raw = system.ActorOf(Props.Create(() => new RawCounter(rawCount)), "raw-counter");
        await DistributedPubSub.Get(system).Mediator.Ask<SubscribeAck>(new Subscribe(RawTopic, raw));
        var busCount = new long[1];
        await bus.SubscribeAsync<BenchThreat>(BusTopic, (_, _) =>
        {
            busCount[0]++;
            return Task.CompletedTask;
        });
        _ = Task.Run(async () =>
        {
            long lastRaw = -1, lastBus = -1;
            while (!system.WhenTerminated.IsCompleted)
            {
                await Task.Delay(10);
                var r = Volatile.Read(ref rawCount[0]);
                var b = Volatile.Read(ref busCount[0]);
                if (r != lastRaw) bus.Publish(ProgressTopic, new BenchProgress(node, "raw", lastRaw = r));
                if (b != lastBus) bus.Publish(ProgressTopic, new BenchProgress(node, "bus", lastBus = b));
            }
        });
    }

    /// <summary>Entry point of a subscriber node process: <c>pubsub-node &lt;seedPort&gt; &lt;name&gt;</c>.</summary>
    public static async Task<int> NodeMainAsync(string[] args)
    {
        var seedPort = int.Parse(args[1]);
        var name = args[2];
        var db = Path.Combine(Path.GetTempPath(), $"ed-bench-{name}-{Guid.NewGuid():N}.db");
        using var host = await StartNodeAsync(name, 0, seedPort, StoreProvider.Sqlite, $"Data Source={db}", durable: false);
        var system = host.Services.GetRequiredService<ActorSystem>();
        await SubscribeCountersAsync(system, name);
        Log($"{name}: subscribed");
        // Runs until the parent kills it (or the cluster goes away).
        await system.WhenTerminated;
        return 0;
    }

    public static async Task<SuiteResult> RunAsync(RunContext ctx)
    {
        var details = new Dictionary<string, object?> { ["run_id"] = ctx.RunId };
        var seedPort = FreePort();
        using var host = await StartNodeAsync("n0", seedPort, seedPort, StoreProvider.PostgreSql, ctx.ConnectionString, durable: true);
        var system = host.Services.GetRequiredService<ActorSystem>();
        var bus = MessageBus.Get(system);

        // ---------------- Part 1: fast path, three processes ----------------
        var children = new List<Process>();
        var fast = new Comparison("fast-path", "deliveries/s", 0.9,
            "raw DistributedPubSub Publish of a byte[] of the same serialized size (Akka's ByteArraySerializer), same topology",
            "MessageBus.Publish of a registered record (JSON payload in the bus's binary envelope), handler per message");
        try
        {
            var progress = new ConcurrentDictionary<(string Node, string Mode), long>();
            await bus.SubscribeAsync<BenchProgress>(ProgressTopic, (m, _) =>
            {
                progress.AddOrUpdate((m.Payload.Node, m.Payload.Mode), m.Payload.Count, (_, old) => Math.Max(old, m.Payload.Count));
                return Task.CompletedTask;
            });
            await SubscribeCountersAsync(system, "n0");
            for (var i = 1; i <= 2; i++) children.Add(StartChild(seedPort, $"n{i}"));

            var mediator = DistributedPubSub.Get(system).Mediator;
            var ready = Stopwatch.StartNew();
            var nodes = new[] { "n0", "n1", "n2" };
            // Pub-sub registrations gossip: publish a few messages of each kind until every node counted some.
            while (!nodes.All(n => progress.GetValueOrDefault((n, "raw")) > 0 && progress.GetValueOrDefault((n, "bus")) > 0))
            {
                if (children.Any(c => c.HasExited)) throw new InvalidOperationException("A subscriber node process exited.");
                if (ready.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("Subscribers on 3 nodes were not reachable within 60 s.");
                for (var i = 0; i < 10; i++)
                {
                    mediator.Tell(new Publish(RawTopic, new byte[16]));
                    bus.Publish(BusTopic, new BenchThreat(1, "warm", "up", i));
                }
                await Task.Delay(200);
            }
            await Task.Delay(500); // stragglers of the warm-up are counted before the first phase starts
            Log("fast path: 3 nodes, a subscriber on each for the raw and the bus topic");

            var sample = new BenchThreat(8, "osint-feed-17", "198.51.100.23:443/tcp", 123456);
            var envelope = BusEnvelope.Create(MessageTypes.For(system), BusTopic, sample, null, int.MaxValue);
            var rawPayload = new byte[new BusSerializer((ExtendedActorSystem)system).ToBinary(envelope).Length];
            Random.Shared.NextBytes(rawPayload);
            details["fast_message_bytes"] = rawPayload.Length;

            var n = ctx.Quick ? 60_000 : 300_000;
            var window = 30_000;
            var childPids = children.Select(c => c.Id).ToArray();
            // CPU of a phase: this process and both subscriber node processes.
            async Task<Measurement> Phase(string mode, int count)
            {
                var start = new Dictionary<string, long>();
                foreach (var node in new[] { "n0", "n1", "n2" }) start[node] = progress.GetValueOrDefault((node, mode));
                long Min() => new[] { "n0", "n1", "n2" }.Min(node => progress.GetValueOrDefault((node, mode)) - start[node]);
                var clock = Stopwatch.StartNew();
                var measured = MeasureClock.Start(childPids);
                var sent = 0;
                while (sent < count)
                {
                    if (sent - Min() >= window)
                    {
                        await Task.Delay(1);
                        if (clock.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException($"{mode}: subscribers stopped progressing.");
                        continue;
                    }
                    for (var i = 0; i < 1000; i++, sent++)
                    {
                        if (mode == "raw") mediator.Tell(new Publish(RawTopic, rawPayload));
                        else bus.Publish(BusTopic, sample with { Sequence = sent });
                    }
                }
                while (Min() < count)
                {
                    if (clock.Elapsed > TimeSpan.FromMinutes(2))
                        throw new TimeoutException($"{mode}: only {Min()} of {count} messages reached every subscriber (lost messages?).");
                    await Task.Delay(1);
                }
                var run = measured.Stop(3L * count);
                Log($"fast path {mode}: {run.Count} deliveries in {run.Elapsed.TotalSeconds:0.00} s = {run.PerSecond:0} deliveries/s");
                return run;
            }

            await Phase("raw", 20_000); // warm-up (JIT, connections)
            await Phase("bus", 20_000);
            // Alternating pairs of rounds, since a round of either side can be hit by GC or the scheduler.
            await fast.AlternateAsync(Suites.Pairs, _ => Phase("raw", n), _ => Phase("bus", n));
            details["fast_path"] = new Dictionary<string, object?>
            {
                ["topology"] = "3 processes on 127.0.0.1; publisher on node 0; one subscriber per node (node 0 included)",
                ["messages_per_phase"] = n,
                ["flow_control_window"] = window,
                ["cpu"] = "process CPU of both sides includes the two subscriber node processes",
            };
        }
        finally
        {
            foreach (var c in children)
            {
                try { c.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                c.Dispose();
            }
        }
        // Down the killed nodes so that the cluster converges without them before the durable part.
        var cluster = Akka.Cluster.Cluster.Get(system);
        foreach (var member in cluster.State.Members.Where(m => !m.Address.Equals(cluster.SelfAddress))) cluster.Down(member.Address);
        await Task.Delay(TimeSpan.FromSeconds(2));

        // ---------------- Part 2: durable topic on PostgreSQL ----------------
        var measure = Suites.Measure(ctx.Quick);
        var durableSample = new BenchThreat(8, "osint-feed-17", "198.51.100.23:443/tcp", 0);
        var stored = new DomainEvent(BusEnvelope.Create(MessageTypes.For(system), DurableTopic, durableSample, null, int.MaxValue),
            new EventMetadata(DateTimeOffset.UtcNow));
        var storedSerializer = (Akka.Serialization.SerializerWithStringManifest)system.Serialization.FindSerializerFor(stored);
        var storedPayload = storedSerializer.ToBinary(stored);

        await RawBaseline.PrepareTableAsync(ctx.RawConnectionString);
        await bus.StartAsync();
        const int publishers = 800;
        // Activation: one publish per publisher's partition key before the rounds, so that the topic's partition logs are
        // created and recovered before the clock starts (not steady state, as in the append suite).
        await Parallel.ForEachAsync(Enumerable.Range(0, publishers), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (p, _) =>
            await bus.PublishAsync(DurableTopic, durableSample with { Sequence = -1 }, new PublishOptions { Persistent = true, PartitionKey = $"k{p}" }));
        Log($"durable: raw NpgsqlBatch of 100 INSERTs per transaction on 2 connections ({storedPayload.Length} B rows) against " +
            $"{publishers} durable publishers, {DurablePartitions} partitions");
        var durable = await new Comparison("durable", "messages/s", 0.5,
                "raw Npgsql: NpgsqlBatch of 100 single-row INSERTs per transaction, 2 connections (the append suite's baseline), same row size",
                $"MessageBus.PublishAsync with Persistent = true, acknowledged once journaled; {publishers} publishers, {DurablePartitions} partitions")
            .AlternateAsync(Suites.Pairs,
                round => RawBaseline.BatchedAsync(ctx.RawConnectionString, $"{ctx.RunId}-{round}", storedPayload, storedSerializer.Manifest(stored),
                    connections: 2, batchSize: 100, idsPerConnection: 200, Suites.WarmUp(round, ctx.Quick), measure),
                round =>
                {
                    var durableWindow = new MeasureWindow();
                    var loops = Enumerable.Range(0, publishers).Select(p => Task.Run(async () =>
                    {
                        var options = new PublishOptions { Persistent = true, PartitionKey = $"k{p}" };
                        long i = 0;
                        while (!durableWindow.Stopped)
                        {
                            await bus.PublishAsync(DurableTopic, durableSample with { Sequence = i++ }, options);
                            durableWindow.Add(1);
                        }
                    })).ToArray();
                    return durableWindow.RunAsync(Suites.WarmUp(round, ctx.Quick), measure, loops);
                });

        // Latency at half of that rate: a durable subscription measures publish -> handler.
        var rate = durable.PlatformMedian / 2;
        var latencies = new ConcurrentBag<double>();
        var phaseStart = DateTime.UtcNow.Ticks;
        await using (await bus.SubscribeAsync<BenchThreat>(LatencyTopic, (m, _) =>
                     {
                         if (m.PublishedAt.UtcTicks >= phaseStart)
                             latencies.Add((DateTime.UtcNow - m.PublishedAt.UtcDateTime).TotalMilliseconds);
                         return Task.CompletedTask;
                     }, new SubscriptionOptions { Durable = true, Group = $"lat-{ctx.RunId}" }))
        {
            var seconds = ctx.Quick ? 4 : 10;
            var sent = 0L;
            var pending = new List<Task>();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                var due = (long)(rate * clock.Elapsed.TotalSeconds);
                for (; sent < due; sent++)
                    pending.Add(bus.PublishAsync(LatencyTopic, durableSample with { Sequence = sent },
                        new PublishOptions { Persistent = true, PartitionKey = $"k{sent % 800}" }));
                pending.RemoveAll(t => t.IsCompletedSuccessfully);
                await Task.Delay(5);
            }
            await Task.WhenAll(pending);
            var drain = Stopwatch.StartNew();
            while (latencies.Count < sent && drain.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(50);
            Log($"latency: {latencies.Count} of {sent} messages received");
        }
        var sorted = latencies.Order().ToArray();
        double Pct(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
        Log($"durable end-to-end latency at {rate:0} msgs/s: p50 {Pct(0.5):0.0} ms, p99 {Pct(0.99):0.0} ms");

        details["durable"] = new Dictionary<string, object?>
        {
            ["latency_rate_per_s"] = Math.Round(rate),
            ["latency_messages"] = sorted.Length,
            ["latency_ms"] = new Dictionary<string, object?>
            {
                ["p50"] = Math.Round(Pct(0.5), 2), ["p99"] = Math.Round(Pct(0.99), 2), ["max"] = Math.Round(sorted.LastOrDefault(), 2),
            },
            ["latency_definition"] = "publish -> durable subscription handler at half the median acknowledged publish rate",
        };

        try { await host.StopAsync(TimeSpan.FromSeconds(20)); } catch (Exception e) { Log($"stop: {e.Message}"); }
        return new SuiteResult([fast, durable], details);
    }

    private static Process StartChild(int seedPort, string name)
    {
        var self = Environment.ProcessPath!;
        var dll = typeof(PubSubSuite).Assembly.Location;
        var viaDotnet = Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        var info = new ProcessStartInfo(self)
        {
            UseShellExecute = false,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
        };
        if (viaDotnet) info.ArgumentList.Add(dll);
        info.ArgumentList.Add("pubsub-node");
        info.ArgumentList.Add(seedPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add(name);
        return Process.Start(info) ?? throw new InvalidOperationException("Could not start a subscriber node process.");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
