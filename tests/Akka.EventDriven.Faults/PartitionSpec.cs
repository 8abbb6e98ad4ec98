using Xunit.Abstractions;

namespace Akka.EventDriven.Faults;

/// <summary>
/// Fault 5, a network partition: three service processes, each in its own network namespace, on a PostgreSQL every
/// namespace reaches; under command load one node is cut off from the two others (the database stays reachable from
/// both sides, so only the cluster splits). The split-brain resolver (keep-majority) downs the minority; no aggregate
/// ever has two writers (an aggregate written on the cut-off node is never acknowledged there again once the majority
/// has taken it over, and no version is acknowledged twice); the majority serves every aggregate; after healing, the
/// restarted node rejoins and the three serve all. Skipped, with the reason, where network namespaces cannot be made.
/// </summary>
public sealed class PartitionSpec(ITestOutputHelper output)
{
    private const int Minority = 2;

    [NetnsFact]
    public async Task A_node_cut_off_from_the_others_is_downed_and_no_aggregate_ever_has_two_writers()
    {
        await using var lab = await NetworkLab.StartAsync(3);
        await using var database = await PrivatePostgres.StartAsync(lab.HostAddress, lab.Subnet);
        await using var cluster = await ServiceCluster.StartAsync(3, database.UrlAt(lab.HostAddress), lab: lab);
        var ids = Enumerable.Range(0, 30).Select(i => $"{cluster.System}-{i}").ToArray();
        var clients = cluster.Nodes.Select(n => Client(n, TimeSpan.FromSeconds(60))).ToArray();
        var ledger = new CommandLedger();
        var firstIncarnation = cluster.Nodes[Minority];

        var first = await Task.WhenAll(ids.Select((id, i) => ledger.DepositAsync(clients[i % 3], i % 3, id)));
        Assert.All(first, o => Assert.True(o.Acknowledged, $"before the partition: {o}"));
        using var stopLoad = new CancellationTokenSource();
        // Clients keep sending to the cut-off node for as long as its process runs, as its own clients would.
        var load = ledger.RunLoadAsync(clients, i => i != Minority || !Exited(firstIncarnation), ids, workers: 9, stopLoad.Token);
        await TestWait.UntilAsync(() => NodeKilledSpec.Check(ledger.Acknowledged.Count >= ids.Length + 300, "steady load"), TimeSpan.FromSeconds(90));

        var partitionedAt = ledger.Clock.Elapsed;
        await lab.Isolate(Minority);
        // From here on the cut is in place: a command the cut-off node acknowledges can only be for an aggregate it
        // hosts itself (before, it may still have routed one to the majority's host, which is not a second writer).
        var isolatedAt = ledger.Clock.Elapsed;

        // The majority removes the cut-off node; every aggregate is then served by the majority.
        var majority = new[] { 0, 1 };
        await cluster.AllUpAsync(majority, TimeSpan.FromSeconds(60));
        var removedAfter = ledger.Clock.Elapsed - partitionedAt;
        var probes = majority.Select(i => Client(cluster.Nodes[i], TimeSpan.FromSeconds(1))).ToArray();
        var servedAt = await ServiceCluster.ServedAfterAsync(probes, ids, ledger.Clock, partitionedAt);
        var minorityExited = await firstIncarnation.WaitForExitAsync(TimeSpan.FromSeconds(30));

        // Heal; the cut-off node's process (downed, so it shut itself down) is started again and rejoins.
        var acknowledgedBeforeHeal = ledger.Acknowledged.Count;
        await lab.Heal();
        var healedAt = ledger.Clock.Elapsed;
        await cluster.RestartAsync(Minority);
        clients[Minority] = Client(cluster.Nodes[Minority], TimeSpan.FromSeconds(60));
        await cluster.AllUpAsync([0, 1, 2], TimeSpan.FromSeconds(90));
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var after = await ledger.DepositAsync(clients[i % 3], i % 3, id);
            Assert.True(after.Acknowledged, $"after healing, node {i % 3}: {after}");
        }
        await stopLoad.CancelAsync();
        await load;

        var acknowledged = ledger.Acknowledged;
        var journal = await database.PairsAsync(
            $"SELECT persistence_id, sequence_nr FROM event_journal WHERE persistence_id LIKE 'Ledger-{cluster.System}-%' ORDER BY 1, 2");
        CommandLedger.AssertNothingLost(acknowledged, journal);

        // No two writers: per aggregate, once the majority acknowledged a command sent after the cut, the cut-off
        // node's first incarnation never acknowledged one again.
        var minorityAcks = acknowledged.Where(o => o.Node == Minority && o.StartedAt + o.Took < healedAt && o.StartedAt >= isolatedAt).ToList();
        foreach (var id in ids)
        {
            var takenOver = acknowledged.Where(o => o.AggregateId == id && o.Node != Minority && o.StartedAt >= isolatedAt)
                .Select(o => o.StartedAt + o.Took).DefaultIfEmpty(TimeSpan.MaxValue).Min();
            var late = minorityAcks.Where(o => o.AggregateId == id && o.StartedAt + o.Took > takenOver).ToList();
            Assert.True(late.Count == 0, $"{id}: the cut-off node acknowledged {late.Count} command(s) after the majority wrote it, first: {late.FirstOrDefault()}");
        }

        var report = $"cut-off node removed by the majority {removedAfter.TotalSeconds:F1} s after the cut; every aggregate served by " +
                     $"the majority after {servedAt.Max().TotalSeconds:F1} s; the cut-off process {(minorityExited is null ? "was still running 30 s later" : $"shut itself down (exit {minorityExited})")}; " +
                     $"{minorityAcks.Count} commands acknowledged by it during the cut, none after the majority wrote the same aggregate; " +
                     $"{acknowledged.Count} acknowledged in all ({acknowledgedBeforeHeal} before healing), {journal.Count} events, no gap";
        output.WriteLine(report);
        FaultReport.Write("partition", report);
        Assert.NotNull(minorityExited); // downed by its own resolver: the process ends rather than serving as a cluster of one
    }

    private static bool Exited(ServiceProcess node)
    {
        try { return node.Process.HasExited; }
        catch (InvalidOperationException) { return true; } // disposed: replaced by its restart
    }

    private static HttpClient Client(ServiceProcess node, TimeSpan timeout)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://{node.HttpHost}:{node.HttpPort}"), Timeout = timeout };
        client.DefaultRequestHeaders.Add("X-Api-Key", ServiceCluster.AdminKey);
        return client;
    }
}
