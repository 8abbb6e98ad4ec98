using Npgsql;
using Xunit.Abstractions;

namespace Akka.EventDriven.Faults;

/// <summary>
/// Fault 1, a node killed: three service processes on the suite's PostgreSQL under steady command load over HTTP to
/// every node; <c>kill -9</c> of the node that hosts the most Ledger shards. Nothing acknowledged may be lost, no stream
/// may get a gap or a second writer, no command may hang past its timeout, and the survivors must serve every aggregate
/// again (how long that took is printed: the goal is 10 s).
/// </summary>
public sealed class NodeKilledSpec(ITestOutputHelper output)
{
    /// <summary>The commands' timeout on the nodes (hocon/test.conf's ask-timeout).</summary>
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The bound this test enforces on "served again" (the goal is 10 s; measured about 9 s when the killed node
    /// was the oldest, which also hosts the shard coordinator); the figure itself is printed and reported.</summary>
    private static readonly TimeSpan ServedAgainBound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_node_killed_under_load_loses_no_acknowledged_command_and_the_survivors_serve_its_aggregates_again()
    {
        var url = await ServiceProcess.NewDatabaseUrlAsync();
        await using var cluster = await ServiceCluster.StartAsync(3, url);
        var ids = Enumerable.Range(0, 40).Select(i => $"{cluster.System}-{i}").ToArray();
        var clients = cluster.Nodes.Select(n => Client(n.HttpPort, TimeSpan.FromSeconds(60))).ToArray();
        var ledger = new CommandLedger();

        // Every aggregate once, so every shard it lives in is allocated somewhere; then steady load on all nodes.
        var first = await Task.WhenAll(ids.Select((id, i) => ledger.DepositAsync(clients[i % 3], i % 3, id)));
        Assert.All(first, o => Assert.True(o.Acknowledged, $"before the fault: {o}"));
        using var stopLoad = new CancellationTokenSource();
        var load = ledger.RunLoadAsync(clients, cluster.IsAlive, ids, workers: 12, stopLoad.Token);
        await TestWait.UntilAsync(() => Check(ledger.Acknowledged.Count >= ids.Length + 300, "steady load"), TimeSpan.FromSeconds(90));

        var (victim, shards) = await cluster.BusiestNodeAsync(0);
        Assert.True(victim >= 0, "no node reported Ledger shards");
        var survivors = Enumerable.Range(0, 3).Where(i => i != victim).ToArray();
        var killedAt = ledger.Clock.Elapsed;
        cluster.Kill(victim);

        // Served again: every aggregate answers a read through a survivor (short client timeouts, so that the figure is
        // not a command timeout's multiple).
        var probes = survivors.Select(i => Client(cluster.Nodes[i].HttpPort, TimeSpan.FromSeconds(1))).ToArray();
        var servedAt = await ServiceCluster.ServedAfterAsync(probes, ids, ledger.Clock, killedAt);
        var servedAgain = servedAt.Max();

        // The load goes on a while after, then stops; the survivors see each other only.
        var acknowledgedThen = ledger.Acknowledged.Count;
        await TestWait.UntilAsync(() => Check(ledger.Acknowledged.Count >= acknowledgedThen + 200, "load after the fault"), TimeSpan.FromSeconds(60));
        await stopLoad.CancelAsync();
        await load;
        await cluster.AllUpAsync(survivors);

        var journal = await JournalAsync(url, cluster.System);
        var outcomes = ledger.Outcomes;
        var acknowledged = ledger.Acknowledged;
        CommandLedger.AssertNothingLost(acknowledged, journal);

        // No command hung: each was answered within its timeout (plus HTTP and scheduling slack), or its connection
        // broke when the node died; every refusal said why.
        var hung = outcomes.Where(o => o.Took > CommandTimeout + TimeSpan.FromSeconds(5)).ToList();
        Assert.True(hung.Count == 0, $"{hung.Count} command(s) took longer than their timeout, first: {hung.FirstOrDefault()}");
        var failed = outcomes.Where(o => !o.Acknowledged).ToList();
        Assert.All(failed, o => Assert.True(
            o.Status is 503 or 504 || (o.Status == 0 && o.Node == victim && o.StartedAt <= killedAt + TimeSpan.FromSeconds(1)),
            $"a failure that was neither a clear 503/504 nor a connection to the killed node: {o}"));
        Assert.All(failed.Where(o => o.Status != 0), o => Assert.Contains("\"title\"", o.Error));

        // What the survivors serve is what the journal holds.
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var state = await cluster.Nodes[survivors[i % 2]].GetJsonAsync($"/api/aggregates/Ledger/{id}");
            var stored = journal.Count(r => r.PersistenceId == $"Ledger-{id}");
            Assert.Equal(stored, state.GetProperty("version").GetInt64());
            Assert.Equal(stored, state.GetProperty("state").GetProperty("balance").GetInt64());
        }

        var report = $"victim node {victim} hosted {shards} Ledger shards; served again after " +
                     $"{servedAgain.TotalSeconds:F1} s (goal 10 s); {outcomes.Count} commands, {acknowledged.Count} acknowledged, " +
                     $"{failed.Count(o => o.Status == 504)} timed out (504), {failed.Count(o => o.Status == 503)} refused (503), " +
                     $"{failed.Count(o => o.Status == 0)} cut off with the node; {journal.Count} events in the journal";
        output.WriteLine(report);
        FaultReport.Write("node-killed", report);
        Assert.True(servedAgain < ServedAgainBound, report);
    }

    internal static Task Check(bool condition, string what)
    {
        Assert.True(condition, what);
        return Task.CompletedTask;
    }

    internal static HttpClient Client(int port, TimeSpan timeout)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = timeout };
        client.DefaultRequestHeaders.Add("X-Api-Key", ServiceCluster.AdminKey);
        return client;
    }

    internal static async Task<List<(string PersistenceId, long SequenceNr)>> JournalAsync(string url, string run)
    {
        var cs = Storage.StoreSettings.NormalizeConnectionString(Storage.StoreProvider.PostgreSql, url);
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT persistence_id, sequence_nr FROM event_journal WHERE persistence_id LIKE $1 ORDER BY 1, 2", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = $"Ledger-{run}-%" });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, long)>();
        while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetInt64(1)));
        return rows;
    }
}

/// <summary>Fault tests' figures, one line per test, appended to <c>artifacts/faults/report.txt</c> under the repository
/// root (what the closing note and docs/benchmarks.md quote), besides the test output.</summary>
internal static class FaultReport
{
    public static void Write(string test, string line) =>
        File.AppendAllText(Path.Combine(Folder, "report.txt"), $"{DateTime.UtcNow:O} {test} {line}{Environment.NewLine}");

    /// <summary>Keeps <paramref name="text"/> (a node's output) as <paramref name="file"/> in the same folder.</summary>
    public static void Keep(string file, string text) => File.WriteAllText(Path.Combine(Folder, file), text);

    private static string Folder
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var root = output.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
            return Directory.CreateDirectory(Path.Combine(root, "artifacts", "faults")).FullName;
        }
    }
}
