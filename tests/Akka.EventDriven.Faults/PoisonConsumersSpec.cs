using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.EventDriven.Service.TestModule;
using Npgsql;
using Xunit.Abstractions;

namespace Akka.EventDriven.Faults;

/// <summary>
/// Fault 3, poison and slow consumers: two service nodes; a durable topic with a deduplicating subscription and a queue
/// consumed on both nodes, both under publish load over HTTP with 1 % poison messages (their handler always fails); on
/// node 1 the queue consumer's handler hangs on every message and ignores cancellation. Every acknowledged message must
/// end handled or in its dead-letter queue: every poison one in the dead-letter queue, none lost, none handled twice,
/// none both handled and dead-lettered; and each node's memory stays bounded (its peak RSS is reported).
/// </summary>
public sealed class PoisonConsumersSpec(ITestOutputHelper output)
{
    private const int MessagesPerDestination = 2000;

    /// <summary>The bound on a node's peak resident memory (about 250–400 MB measured; a backlog held in memory instead of
    /// in the journal, or handlers piling up behind the hung one, would pass it).</summary>
    private const long PeakRssBoundMb = 1024;

    [Fact]
    public async Task Every_message_ends_handled_once_or_dead_lettered_with_poison_and_a_hung_consumer_and_memory_stays_bounded()
    {
        var url = await ServiceProcess.NewDatabaseUrlAsync();
        var cs = Storage.StoreSettings.NormalizeConnectionString(Storage.StoreProvider.PostgreSql, url);
        await ExecAsync(cs, PoisonWitnesses.Schema);
        await using var cluster = await ServiceCluster.StartAsync(2, url,
            new Dictionary<string, string> { [PoisonWitnesses.Variable] = "on" },
            perNode: i => i == 1 ? new Dictionary<string, string> { [PoisonWitnesses.HangVariable] = "on" } : []);
        var clients = cluster.Nodes.Select(n => NodeKilledSpec.Client(n.HttpPort, TimeSpan.FromSeconds(60))).ToArray();

        // Memory: each node's resident set sampled while the test runs, and the kernel's high-water mark at the end.
        using var stopSampling = new CancellationTokenSource();
        var peakSampled = new long[cluster.Nodes.Count];
        var sampler = Task.Run(async () =>
        {
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
            while (await tick.WaitForNextTickAsync(stopSampling.Token).AsTask().ContinueWith(t => t is { IsCompletedSuccessfully: true, Result: true }))
                for (var i = 0; i < cluster.Nodes.Count; i++)
                    peakSampled[i] = Math.Max(peakSampled[i], ProcStatusKb(cluster.Nodes[i].Process.Id, "VmRSS"));
        });

        // The load: both destinations at once, 16 publishers spread over both nodes; every 100th message is poison.
        var acknowledged = new ConcurrentDictionary<string, (string Destination, bool Poison)>();
        var refused = new ConcurrentQueue<string>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async worker =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < 2 * MessagesPerDestination)
            {
                var queue = n % 2 == 1;
                var poison = n / 2 % 100 == 7;
                var path = queue ? $"/api/queues/{PoisonWitnesses.Queue}" : $"/api/topics/{PoisonWitnesses.Topic}";
                var payload = new { text = $"{(poison ? "poison" : "notice")} {n}" };
                object body = queue ? new { type = "ledger.notice", payload } : new { type = "ledger.notice", persistent = true, payload };
                using var response = await clients[worker % clients.Length].PostAsJsonAsync(path, body);
                var text = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode)
                {
                    refused.Enqueue($"{(int)response.StatusCode} {text}");
                    continue;
                }
                var id = JsonDocument.Parse(text).RootElement.GetProperty("messageId").GetString()!;
                acknowledged[id] = (queue ? "queue" : "topic", poison);
            }
        }));
        Assert.True(refused.IsEmpty, $"{refused.Count} publishes refused, first: {refused.FirstOrDefault()}");
        Assert.Equal(2 * MessagesPerDestination, acknowledged.Count);

        // Every acknowledged message ends handled or dead-lettered.
        List<(string Consumer, string Id, int Deliveries)> handled = [];
        List<(string Queue, string Id, string Reason)> dead = [];
        await TestWait.UntilAsync(async () =>
        {
            handled = await HandledAsync(cs);
            dead = await DeadLettersAsync(cs);
            var ended = handled.Select(h => h.Id).Concat(dead.Select(d => d.Id)).ToHashSet();
            var open = acknowledged.Keys.Count(id => !ended.Contains(id));
            Assert.True(open == 0, $"{open} acknowledged messages are neither handled nor dead-lettered yet");
        }, TimeSpan.FromSeconds(180));
        await stopSampling.CancelAsync();
        await sampler;
        var peakHwm = cluster.Nodes.Select(n => ProcStatusKb(n.Process.Id, "VmHWM")).ToArray();

        foreach (var destination in new[] { "topic", "queue" })
        {
            var dlq = destination == "topic" ? PoisonWitnesses.TopicDeadLetters : PoisonWitnesses.QueueDeadLetters;
            var mine = acknowledged.Where(a => a.Value.Destination == destination).ToDictionary(a => a.Key, a => a.Value.Poison);
            var handledIds = handled.Where(h => h.Consumer == destination).ToList();
            var deadIds = dead.Where(d => d.Queue == dlq).ToList();
            Assert.All(handledIds, h => Assert.True(h.Deliveries == 1, $"{destination}: {h.Id} was handled {h.Deliveries} times"));
            Assert.Equal(deadIds.Count, deadIds.Select(d => d.Id).Distinct().Count()); // dead-lettered once each
            Assert.Empty(handledIds.Select(h => h.Id).Intersect(deadIds.Select(d => d.Id))); // never both
            Assert.All(handledIds, h => Assert.True(mine.TryGetValue(h.Id, out var poison) && !poison, $"{destination}: {h.Id} handled but not a clean message of this run"));
            var poisonIds = mine.Where(m => m.Value).Select(m => m.Key).ToHashSet();
            Assert.Equal(MessagesPerDestination / 100, poisonIds.Count);
            Assert.Subset(deadIds.Select(d => d.Id).ToHashSet(), poisonIds); // every poison message is in the DLQ
            // A poison message fails in its handler; on the queue one may instead have gone to the hung consumer.
            Assert.All(deadIds.Where(d => poisonIds.Contains(d.Id)), d => Assert.True(
                d.Reason.Contains("poison message") || (destination == "queue" && d.Reason.Contains("did not finish within")), d.Reason));
            // On the topic the only dead letters are poison; on the queue, the hung consumer's deliveries timed out.
            var cleanDead = deadIds.Where(d => !poisonIds.Contains(d.Id)).ToList();
            if (destination == "topic") Assert.Empty(cleanDead);
            else Assert.All(cleanDead, d => Assert.Contains("did not finish within", d.Reason));
            Assert.Equal(mine.Count, handledIds.Count + deadIds.Count); // none lost
        }

        var hungDead = dead.Count(d => d.Queue == PoisonWitnesses.QueueDeadLetters && !d.Reason.Contains("poison message"));
        var report = $"{acknowledged.Count} messages ({MessagesPerDestination} durable topic, {MessagesPerDestination} queue, 1 % poison); " +
                     $"handled {handled.Count} (each once), dead-lettered {dead.Count} ({hungDead} of them timed out on the hung consumer), lost 0; " +
                     $"peak RSS {string.Join(", ", peakHwm.Select((kb, i) => $"node {i} {kb / 1024} MB"))} " +
                     $"(sampled max {string.Join(", ", peakSampled.Select(kb => $"{kb / 1024} MB"))})";
        output.WriteLine(report);
        FaultReport.Write("poison-consumers", report);
        Assert.All(peakHwm, kb => Assert.True(kb / 1024 < PeakRssBoundMb, report));
    }

    /// <summary>A field of /proc/PID/status in kB (VmRSS: resident now; VmHWM: the highest resident so far).</summary>
    private static long ProcStatusKb(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        catch (IOException) { return 0; }
    }

    private static async Task<List<(string, string, int)>> HandledAsync(string cs)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT consumer, message_id, deliveries FROM fault_handled", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, string, int)>();
        while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
        return rows;
    }

    private static async Task<List<(string, string, string)>> DeadLettersAsync(string cs)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT queue, message_id, reason FROM bus_dead_letters
            WHERE queue IN ($1, $2)
            """, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = PoisonWitnesses.TopicDeadLetters });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = PoisonWitnesses.QueueDeadLetters });
        try
        {
            await using var reader = await command.ExecuteReaderAsync();
            var rows = new List<(string, string, string)>();
            while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            return rows;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return []; // no letter yet: the bus creates its table at the first one
        }
    }

    private static async Task ExecAsync(string cs, string sql)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
