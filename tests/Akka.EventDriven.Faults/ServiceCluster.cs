using System.Text.Json;

namespace Akka.EventDriven.Faults;

/// <summary>Service nodes as child processes on 127.0.0.1 forming one cluster, configured only by environment variables,
/// with the test module's Ledger aggregate. Disposing kills every node still running and removes their folder.</summary>
public sealed class ServiceCluster : IAsyncDisposable
{
    public const string AdminKey = "faults-admin-key-0123456789";
    private readonly string _directory = Directory.CreateTempSubdirectory("eventdriven-faults-").FullName;
    private readonly List<ServiceProcess> _nodes = [];
    private readonly HashSet<int> _killed = [];

    private readonly List<Dictionary<string, string>> _variables = [];
    private NetworkLab? _lab;

    private ServiceCluster(string system) => System = system;

    /// <summary>The actor system's name (SERVICE_NAME).</summary>
    public string System { get; }

    public IReadOnlyList<ServiceProcess> Nodes => _nodes;

    /// <summary>The Akka port of each node, by index.</summary>
    public int[] AkkaPorts { get; private set; } = [];

    /// <summary>Starts <paramref name="count"/> nodes on <paramref name="databaseUrl"/> (node 0 first: it forms the cluster
    /// and creates the tables) and waits until every node is ready and sees all of them Up.</summary>
    /// <remarks>With <paramref name="lab"/>, node i runs in the lab's namespace i at its address; <paramref name="perNode"/>
    /// adds variables of node i's own on top of <paramref name="extra"/>.</remarks>
    public static async Task<ServiceCluster> StartAsync(int count, string databaseUrl, IReadOnlyDictionary<string, string>? extra = null,
        NetworkLab? lab = null, Func<int, IReadOnlyDictionary<string, string>>? perNode = null)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var cluster = new ServiceCluster("faults-" + run) { AkkaPorts = Enumerable.Range(0, count).Select(_ => TestWait.FreePort()).ToArray(), _lab = lab };
        try
        {
            for (var i = 0; i < count; i++)
            {
                var variables = cluster.Variables(i, databaseUrl, extra);
                foreach (var (k, v) in perNode?.Invoke(i) ?? new Dictionary<string, string>()) variables[k] = v;
                cluster._variables.Add(variables);
            }
            cluster._nodes.Add(cluster.StartNode(0));
            await ReadyAsync(cluster._nodes[0]);
            for (var i = 1; i < count; i++) cluster._nodes.Add(cluster.StartNode(i));
            await Task.WhenAll(cluster._nodes.Skip(1).Select(ReadyAsync));
            await cluster.AllUpAsync(Enumerable.Range(0, count).ToArray());
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private ServiceProcess StartNode(int i) => ServiceProcess.Start(_variables[i], _directory,
        _lab?.Namespace(i), _lab?.NodeAddress(i) ?? "127.0.0.1");

    /// <summary>Starts node <paramref name="i"/> again (a new process, same configuration) after it died or was killed,
    /// and waits until it is ready.</summary>
    public async Task RestartAsync(int i)
    {
        var old = _nodes[i];
        await old.DisposeAsync();
        FaultReport.Keep($"{System}-node{i}-before-restart.log", old.Output);
        _nodes[i] = StartNode(i);
        lock (_killed) _killed.Remove(i);
        await ReadyAsync(_nodes[i]);
    }

    private Dictionary<string, string> Variables(int i, string databaseUrl, IReadOnlyDictionary<string, string>? extra)
    {
        var host = _lab?.NodeAddress(i) ?? "127.0.0.1";
        var variables = new Dictionary<string, string>
        {
            ["SERVICE_NAME"] = System,
            ["AKKA_ENV"] = "test",
            ["DATABASE_URL"] = databaseUrl,
            ["PORT"] = TestWait.FreePort().ToString(),
            ["HTTP_HOST"] = host,
            ["AKKA_HOSTNAME"] = host,
            ["AKKA_PORT"] = AkkaPorts[i].ToString(),
            ["AKKA_SEEDS"] = $"{_lab?.NodeAddress(0) ?? "127.0.0.1"}:{AkkaPorts[0]}",
            ["EVENTDRIVEN_API_KEYS"] = $"{AdminKey}:admin",
            ["EVENTDRIVEN_MODULES"] = ServiceProcess.TestModuleDll,
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) variables[k] = v;
        return variables;
    }

    /// <summary>True until <see cref="Kill"/> was called for node <paramref name="i"/>.</summary>
    public bool IsAlive(int i) => !_killed.Contains(i);

    /// <summary>kill -9 of node <paramref name="i"/>.</summary>
    public void Kill(int i)
    {
        lock (_killed) _killed.Add(i);
        _nodes[i].KillHard();
    }

    /// <summary>Waits until each of <paramref name="nodes"/> sees exactly those nodes, all Up and reachable.</summary>
    public Task AllUpAsync(int[] nodes, TimeSpan? within = null) => TestWait.UntilAsync(async () =>
    {
        foreach (var i in nodes)
        {
            var members = (await _nodes[i].GetJsonAsync("/api/cluster")).GetProperty("members").EnumerateArray().ToList();
            Assert.Equal(nodes.Length, members.Count);
            Assert.All(members, m => Assert.Equal("Up", m.GetProperty("status").GetString()));
            Assert.All(members, m => Assert.True(m.GetProperty("reachable").GetBoolean()));
        }
    }, within ?? TimeSpan.FromSeconds(90));

    /// <summary>The index of the node that hosts the most Ledger shards, as node <paramref name="askedOf"/> sees it.</summary>
    public async Task<(int Node, int Shards)> BusiestNodeAsync(int askedOf)
    {
        var members = (await _nodes[askedOf].GetJsonAsync("/api/cluster")).GetProperty("members").EnumerateArray().ToList();
        var best = (Node: -1, Shards: -1);
        foreach (var m in members)
        {
            var port = int.Parse(m.GetProperty("address").GetString()!.Split(':').Last());
            var shards = m.TryGetProperty("shards", out var s) && s.ValueKind == JsonValueKind.Object && s.TryGetProperty("Ledger", out var l)
                ? l.GetProperty("shards").GetInt32() : 0;
            if (shards > best.Shards) best = (Array.IndexOf(AkkaPorts, port), shards);
        }
        return best;
    }

    /// <summary>Reads every aggregate of <paramref name="ids"/> through <paramref name="probes"/> (in turn) until each has
    /// answered once, polling with a deadline; returns, per aggregate, how long after <paramref name="since"/> (on
    /// <paramref name="clock"/>) it first answered.</summary>
    public static Task<TimeSpan[]> ServedAfterAsync(IReadOnlyList<HttpClient> probes, IReadOnlyList<string> ids,
        System.Diagnostics.Stopwatch clock, TimeSpan since) =>
        Task.WhenAll(ids.Select(async (id, i) =>
        {
            var served = TimeSpan.Zero;
            await TestWait.UntilAsync(async () =>
            {
                using var response = await probes[i % probes.Count].GetAsync($"/api/aggregates/Ledger/{id}");
                Assert.True(response.IsSuccessStatusCode, $"{id} is not served: {(int)response.StatusCode}");
                served = clock.Elapsed - since;
            }, TimeSpan.FromSeconds(90));
            return served;
        }));

    private static Task ReadyAsync(ServiceProcess node) => TestWait.UntilAsync(async () =>
    {
        Assert.False(node.Process.HasExited, $"the service exited with {(node.Process.HasExited ? node.Process.ExitCode : 0)}:\n{node.Output}");
        using var response = await node.Http.GetAsync("/health/ready");
        Assert.True((int)response.StatusCode == 200, $"/health/ready on :{node.HttpPort}: {(int)response.StatusCode}\n{node.Output}");
    }, TimeSpan.FromSeconds(120));

    /// <summary>Kills every node still running and keeps each node's output in artifacts/faults/ (what a failed run is
    /// read from).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var (node, i) in _nodes.Select((n, i) => (n, i)))
        {
            await node.DisposeAsync();
            FaultReport.Keep($"{System}-node{i}.log", node.Output);
        }
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
