namespace Akka.EventDriven.Service.Tests;

/// <summary>Three service processes on 127.0.0.1, configured only by environment variables, on the PostgreSQL of
/// <c>./build.sh test</c> (DATABASE_URL), with the test module's Ledger aggregate.</summary>
public sealed class ServiceClusterSpec : IDisposable
{
    private const string AdminKey = "test-admin-key-0123456789";
    private readonly string _directory = Directory.CreateTempSubdirectory("eventdriven-service-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }


    [Fact]
    public async Task Three_nodes_form_one_cluster_share_aggregates_and_survive_a_SIGTERM()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var databaseUrl = await ServiceProcess.NewDatabaseUrlAsync();
        var system = "svc-" + run;
        var akkaPorts = Enumerable.Range(0, 3).Select(_ => TestWait.FreePort()).ToArray();
        var seeds = $"127.0.0.1:{akkaPorts[0]}"; // node 1 lists itself first: it forms the cluster
        Dictionary<string, string> Variables(int i) => new()
        {
            ["SERVICE_NAME"] = system,
            ["AKKA_ENV"] = "test",
            ["DATABASE_URL"] = databaseUrl,
            ["PORT"] = TestWait.FreePort().ToString(),
            ["HTTP_HOST"] = "127.0.0.1",
            ["AKKA_HOSTNAME"] = "127.0.0.1",
            ["AKKA_PORT"] = akkaPorts[i].ToString(),
            ["AKKA_SEEDS"] = seeds,
            ["EVENTDRIVEN_API_KEYS"] = $"{AdminKey}:admin",
            ["EVENTDRIVEN_MODULES"] = ServiceProcess.TestModuleDll,
        };

        var nodes = new List<ServiceProcess>();
        try
        {
            // Node 1 first, so it alone creates the tables; then the two others together.
            nodes.Add(ServiceProcess.Start(Variables(0), _directory));
            await ReadyAsync(nodes[0]);
            nodes.Add(ServiceProcess.Start(Variables(1), _directory));
            nodes.Add(ServiceProcess.Start(Variables(2), _directory));
            await Task.WhenAll(nodes.Skip(1).Select(ReadyAsync));

            await TestWait.UntilAsync(async () =>
            {
                foreach (var node in nodes)
                {
                    var members = (await node.GetJsonAsync("/api/cluster")).GetProperty("members").EnumerateArray().ToList();
                    Assert.Equal(3, members.Count(m => m.GetProperty("status").GetString() == "Up"));
                }
            }, TimeSpan.FromSeconds(60));

            // A command to node 1 reaches the aggregate that node 3 reads, wherever its shard lives.
            var id = "acct-" + run;
            var (status, body) = await nodes[0].PostJsonAsync("/api/commands",
                new { type = "ledger.deposit", aggregateId = id, payload = new { amount = 5 } });
            Assert.True(status == 200, $"deposit on node 1: {status} {body}");
            Assert.True(body.GetProperty("success").GetBoolean(), body.ToString());
            (status, body) = await nodes[1].PostJsonAsync("/api/commands",
                new { type = "ledger.deposit", aggregateId = id, payload = new { amount = 7 } });
            Assert.True(status == 200, $"deposit on node 2: {status} {body}");
            var state = await nodes[2].GetJsonAsync($"/api/aggregates/Ledger/{id}");
            Assert.Equal(2, state.GetProperty("version").GetInt64());
            Assert.Equal(12, state.GetProperty("state").GetProperty("balance").GetInt64());

            // SIGTERM on node 1 (the seed, the oldest: it hosts the shard coordinator): it leaves and exits 0 in 10 s.
            nodes[0].Terminate();
            var exit = await nodes[0].WaitForExitAsync(TimeSpan.FromSeconds(10));
            Assert.True(exit == 0, $"node 1 after SIGTERM: exit {exit?.ToString() ?? "none within 10 s"}\n{nodes[0].Output}");

            var survivors = nodes.Skip(1).ToList();
            await TestWait.UntilAsync(async () =>
            {
                foreach (var node in survivors)
                {
                    var members = (await node.GetJsonAsync("/api/cluster")).GetProperty("members").EnumerateArray().ToList();
                    Assert.Equal(2, members.Count);
                    Assert.All(members, m => Assert.Equal("Up", m.GetProperty("status").GetString()));
                    using var ready = await node.Http.GetAsync("/health/ready");
                    Assert.Equal(200, (int)ready.StatusCode);
                }
            }, TimeSpan.FromSeconds(60));

            // The survivors still take commands, for the old aggregate and for new ones.
            foreach (var (node, target) in new[] { (survivors[0], id), (survivors[1], "acct2-" + run) })
            {
                (status, body) = await node.PostJsonAsync("/api/commands",
                    new { type = "ledger.deposit", aggregateId = target, payload = new { amount = 1 } });
                Assert.True(status == 200, $"deposit after the SIGTERM on :{node.HttpPort}: {status} {body}");
            }
            state = await survivors[1].GetJsonAsync($"/api/aggregates/Ledger/{id}");
            Assert.Equal(13, state.GetProperty("state").GetProperty("balance").GetInt64());
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    private static Task ReadyAsync(ServiceProcess node) => TestWait.UntilAsync(async () =>
    {
        Assert.False(node.Process.HasExited, $"the service exited with {(node.Process.HasExited ? node.Process.ExitCode : 0)}:\n{node.Output}");
        using var response = await node.Http.GetAsync("/health/ready");
        Assert.True((int)response.StatusCode == 200, $"/health/ready on :{node.HttpPort}: {(int)response.StatusCode}\n{node.Output}");
    }, TimeSpan.FromSeconds(120));
}
