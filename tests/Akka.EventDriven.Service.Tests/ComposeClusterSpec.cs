using System.Diagnostics;
using System.Text.RegularExpressions;
using Akka.EventDriven.Kafka.TestKit;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Akka.EventDriven.Service.Tests;

/// <summary>
/// docker-compose.yml's three service nodes, started as processes on 127.0.0.1 from the compose file's own values
/// (parsed, not copied): what differs on one host is only where things are (host names become 127.0.0.1, each node
/// gets its own ports, the database is a fresh one on the test PostgreSQL, Kafka is librdkafka's mock cluster).
/// They must form one cluster, and the compose health check itself (the service's --probe) must pass on each.
/// </summary>
public sealed partial class ComposeClusterSpec : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("eventdriven-compose-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void The_compose_file_describes_three_production_nodes_on_PostgreSQL_and_Kafka_with_health_checks()
    {
        var compose = Compose.Load();
        var nodes = compose.Nodes();
        Assert.Equal(["node1", "node2", "node3"], nodes.Keys.Order());
        foreach (var (name, node) in nodes)
        {
            var env = node.Environment;
            Assert.Equal("production", env["AKKA_ENV"]);
            Assert.Equal(name, env["AKKA_HOSTNAME"]);
            Assert.StartsWith("postgresql://", env["DATABASE_URL"]);
            Assert.Contains("@postgres:", env["DATABASE_URL"]);
            Assert.StartsWith("kafka:", env["KAFKA_BROKERS"]);
            Assert.NotEmpty(env["EVENTDRIVEN_API_KEYS"]);
            // Every seed is one of the nodes, and the first one names itself (it forms the cluster).
            var seeds = env["AKKA_SEEDS"].Split(',');
            Assert.All(seeds, s => Assert.Contains(s.Split(':')[0], nodes.Keys));
            Assert.Equal(env["AKKA_PORT"], seeds[0].Split(':')[1]);
            // The health check is the service's own probe on its ready endpoint, on its HTTP port.
            Assert.Equal(["CMD", "dotnet", "/app/Akka.EventDriven.Service.dll", "--probe", $"http://127.0.0.1:{env["PORT"]}/health/ready"], node.HealthCheck);
            Assert.Equal(["kafka", "postgres"], node.DependsOnHealthy.Order());
            Assert.Contains(node.Ports, p => p.EndsWith(":" + env["PORT"], StringComparison.Ordinal));
        }
        Assert.Equal(3, nodes.Values.SelectMany(n => n.Ports).Select(p => p.Split(':')[0]).Distinct().Count()); // one host port each
        // The split-brain resolver the production environment runs.
        Assert.Contains("active-strategy = keep-majority", File.ReadAllText(Path.Combine(Compose.RepositoryRoot(), "hocon", "production.conf")));
    }

    [Fact]
    public async Task The_three_nodes_of_the_compose_file_form_one_cluster_and_pass_their_health_checks()
    {
        var nodes = Compose.Load().Nodes();
        using var kafka = new MockKafkaCluster(brokers: 1);
        var database = await FreshDatabaseAsync();

        // Where things are on this host: each node's own ports; every other value is the compose file's.
        var akkaPorts = nodes.Keys.ToDictionary(n => n, _ => TestWait.FreePort());
        var httpPorts = nodes.Keys.ToDictionary(n => n, _ => TestWait.FreePort());
        Dictionary<string, string> Local(string name)
        {
            var env = new Dictionary<string, string>(nodes[name].Environment);
            env["AKKA_HOSTNAME"] = "127.0.0.1";
            env["AKKA_PORT"] = akkaPorts[name].ToString();
            env["AKKA_SEEDS"] = string.Join(',', env["AKKA_SEEDS"].Split(',').Select(s => $"127.0.0.1:{akkaPorts[s.Split(':')[0]]}"));
            env["HTTP_HOST"] = "127.0.0.1";
            env["PORT"] = httpPorts[name].ToString();
            env["DATABASE_URL"] = database;
            env["KAFKA_BROKERS"] = kafka.BootstrapServers;
            if (env.GetValueOrDefault("EVENTDRIVEN_MODULES") is not { Length: > 0 }) env.Remove("EVENTDRIVEN_MODULES");
            return env;
        }

        var started = new List<ServiceProcess>();
        try
        {
            var order = nodes.Keys.Order().ToArray();
            // The first seed first (it forms the cluster and creates the tables), then the others together.
            started.Add(ServiceProcess.Start(Local(order[0]), _directory));
            await ReadyAsync(started[0]);
            foreach (var name in order.Skip(1)) started.Add(ServiceProcess.Start(Local(name), _directory));
            await Task.WhenAll(started.Skip(1).Select(ReadyAsync));

            await TestWait.UntilAsync(async () =>
            {
                foreach (var node in started)
                {
                    var members = (await node.GetJsonAsync("/api/cluster")).GetProperty("members").EnumerateArray().ToList();
                    Assert.Equal(3, members.Count(m => m.GetProperty("status").GetString() == "Up"));
                }
            }, TimeSpan.FromSeconds(90));

            // The compose health check, run as compose would run it (with this host's port and build of the service).
            foreach (var (name, node) in order.Zip(started))
            {
                var check = nodes[name].HealthCheck.Skip(1).Select(a => a
                    .Replace("/app/Akka.EventDriven.Service.dll", ServiceProcess.ServiceDll)
                    .Replace($":{nodes[name].Environment["PORT"]}/", $":{httpPorts[name]}/")).ToArray();
                var (exit, output) = await RunAsync(check);
                Assert.True(exit == 0, $"the health check of {name} failed ({exit}): {output}");
                Assert.Contains("-> 200", output);
            }
        }
        finally
        {
            foreach (var node in started) await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_probe_fails_when_nothing_answers()
    {
        var (exit, output) = await RunAsync(["dotnet", ServiceProcess.ServiceDll, "--probe", $"http://127.0.0.1:{TestWait.FreePort()}/health/ready"]);
        Assert.Equal(1, exit);
        Assert.Contains("probe:", output);
    }

    private static async Task<(int Exit, string Output)> RunAsync(string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in command.Skip(1)) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static Task<string> FreshDatabaseAsync() => ServiceProcess.NewDatabaseUrlAsync();

    private static Task ReadyAsync(ServiceProcess node) => TestWait.UntilAsync(async () =>
    {
        Assert.False(node.Process.HasExited, $"the service exited with {(node.Process.HasExited ? node.Process.ExitCode : 0)}:\n{node.Output}");
        using var response = await node.Http.GetAsync("/health/ready");
        Assert.True((int)response.StatusCode == 200, $"/health/ready on :{node.HttpPort}: {(int)response.StatusCode}\n{node.Output}");
    }, TimeSpan.FromSeconds(120));

    /// <summary>A service of the compose file, after YAML merge keys and ${VAR:-default} interpolation (defaults only).</summary>
    private sealed record Node(IReadOnlyDictionary<string, string> Environment, string[] HealthCheck, string[] DependsOnHealthy, string[] Ports);

    private sealed partial class Compose(Dictionary<object, object> root)
    {
        public static string RepositoryRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "docker-compose.yml"))) return dir.FullName;
            throw new InvalidOperationException("docker-compose.yml not found above " + AppContext.BaseDirectory);
        }

        public static Compose Load()
        {
            using var reader = new StringReader(File.ReadAllText(Path.Combine(RepositoryRoot(), "docker-compose.yml")));
            var root = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(new MergingParser(new Parser(reader)));
            return new Compose(root);
        }

        /// <summary>The service nodes: every service with cluster seeds in its environment.</summary>
        public Dictionary<string, Node> Nodes()
        {
            var services = (Dictionary<object, object>)root["services"];
            var nodes = new Dictionary<string, Node>();
            foreach (var (name, value) in services)
            {
                var service = (Dictionary<object, object>)value;
                if (!service.TryGetValue("environment", out var e) || e is not Dictionary<object, object> environment) continue;
                var env = environment.ToDictionary(kv => (string)kv.Key, kv => Interpolate(kv.Value?.ToString() ?? ""));
                if (!env.ContainsKey("AKKA_SEEDS")) continue;
                var health = ((List<object>)((Dictionary<object, object>)service["healthcheck"])["test"]).Select(Interpolate).ToArray();
                var depends = ((Dictionary<object, object>)service["depends_on"])
                    .Where(kv => ((Dictionary<object, object>)kv.Value)["condition"] as string == "service_healthy")
                    .Select(kv => (string)kv.Key).ToArray();
                var ports = ((List<object>)service["ports"]).Select(Interpolate).ToArray();
                nodes[(string)name] = new Node(env, health, depends, ports);
            }
            return nodes;
        }

        // Compose's ${VAR:-default} / ${VAR}: the tests take the defaults (no variable of the host leaks in).
        private static string Interpolate(object value) =>
            Variable().Replace(value.ToString() ?? "", m => m.Groups[2].Success ? m.Groups[2].Value : "");

        [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")]
        private static partial Regex Variable();
    }
}
