using Akka.Actor;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Serialization;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.EventDriven.Hosting.Tests;

/// <summary>
/// Every environment file in hocon/ (development, test, production and any added later) builds a working node, and
/// every key it sets is one that some module's reference.conf defines: HOCON silently ignores a key nobody reads, so a
/// misspelt setting would otherwise look applied and be lost.
/// </summary>
public sealed class EnvironmentFilesSpec
{
    private static string[] FileNames() =>
        Directory.GetFiles(HoconDirectory(), "*.conf").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();

    public static TheoryData<string> Files() => new(FileNames());

    [Fact]
    public void The_three_documented_environments_exist() =>
        Assert.Superset(new HashSet<string> { "development.conf", "test.conf", "production.conf" }, FileNames().ToHashSet());

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_key_an_environment_file_sets_is_defined_by_a_reference_conf(string file)
    {
        var config = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(HoconDirectory(), file)));
        var unknown = HoconKeys.Unknown(config, HoconKeys.Reference());
        Assert.True(unknown.Count == 0,
            $"hocon/{file} sets keys that no reference.conf defines (misspelt, or a setting that does not exist): {string.Join(", ", unknown)}");
    }

    [Fact]
    public void A_misspelt_key_is_reported_and_real_ones_are_not()
    {
        var config = ConfigurationFactory.ParseString("""
            akka.loglevel = INFO
            akka.cluster.gosip-interval = 1s
            akka.cluster.split-brain-resolver.active-strategy = keep-majority
            akka.cluster.sharding.retry-interval = 200ms
            akka.event-driven.persistence.batch-sise = 10
            akka.event-driven.persistence.batch-size = 10
            akka.event-driven.event-sourcing.aggregates.Investigation.snapshot-every = 5
            akka.event-driven.bus.max-message-bytes = 1000
            akka.actor.serializers.mine = "My.Serializer, Mine"
            """);
        Assert.Equal(["akka.cluster.gosip-interval", "akka.event-driven.persistence.batch-sise"], HoconKeys.Unknown(config, HoconKeys.Reference()));
    }

    [Fact]
    public void Every_key_hocon_README_documents_exists()
    {
        var readme = File.ReadAllText(Path.Combine(HoconDirectory(), "README.md"));
        var keys = System.Text.RegularExpressions.Regex.Matches(readme, @"^\| `(akka\.[a-z0-9.-]+)`", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToArray();
        Assert.True(keys.Length >= 20, $"hocon/README.md documents only {keys.Length} keys");
        var reference = HoconKeys.Reference();
        Assert.All(keys, key => Assert.True(reference.HasPath(key), $"hocon/README.md documents {key}, which no reference.conf defines"));
    }

    public static TheoryData<string, bool> FilesAndWays()
    {
        var data = new TheoryData<string, bool>();
        foreach (var file in FileNames())
        {
            data.Add(file, false);
            data.Add(file, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_environment_file_is_embedded_as_it_is_in_hocon(string file)
    {
        var name = Path.GetFileNameWithoutExtension(file);
        Assert.Contains(name, EventDrivenOptions.EmbeddedEnvironments);
        Assert.Equal(File.ReadAllText(Path.Combine(HoconDirectory(), file)), EventDrivenOptions.EmbeddedEnvironment(name.ToUpperInvariant()));
    }

    [Fact]
    public void An_unknown_environment_or_both_an_environment_and_a_file_fail_the_start_saying_why()
    {
        var unknown = Assert.Throws<ArgumentException>(() => EventDrivenHostingExtensions.BuildConfig(new EventDrivenOptions { Environment = "staging" }, out _));
        Assert.StartsWith("Unknown environment 'staging': the embedded ones are development, production, test. For a file of your own, set EnvironmentFile instead.",
            unknown.Message);
        var both = Assert.Throws<ArgumentException>(() => EventDrivenHostingExtensions.BuildConfig(
            new EventDrivenOptions { Environment = "test", EnvironmentFile = "hocon/test.conf" }, out _));
        Assert.StartsWith("Set either Environment ('test') or EnvironmentFile ('hocon/test.conf'), not both.", both.Message);
        var missing = Assert.Throws<FileNotFoundException>(() => EventDrivenHostingExtensions.BuildConfig(
            new EventDrivenOptions { EnvironmentFile = "hocon/nowhere.conf" }, out _));
        Assert.Contains("Environment file 'hocon/nowhere.conf' was found neither in", missing.Message);

        // The embedded production environment applies under the options, as a file would.
        var production = EventDrivenHostingExtensions.BuildConfig(new EventDrivenOptions { Environment = "production" }, out var store);
        Assert.Equal((Akka.EventDriven.Storage.StoreProvider.PostgreSql, "keep-majority"),
            (store.Provider, production.GetString("akka.cluster.split-brain-resolver.active-strategy")));
    }

    [Theory]
    [MemberData(nameof(FilesAndWays))]
    public async Task A_node_starts_from_every_environment_file_and_stores_events(string file, bool embedded)
    {
        var text = File.ReadAllText(Path.Combine(HoconDirectory(), file));
        var production = text.Contains("provider = postgresql", StringComparison.Ordinal);
        if (production && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("DATABASE_URL")))
            Assert.Fail($"hocon/{file} stores events in PostgreSQL: run the tests with ./build.sh test, which starts a private one and sets DATABASE_URL.");
        var sqlite = Path.Combine(Path.GetTempPath(), $"env-{Guid.NewGuid():N}.db");
        var port = FreePort();
        using var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            .ConfigureServices(services => services.AddAkka("envcheck", b =>
            {
                b.WithEventDriven(o =>
                {
                    if (embedded) o.Environment = Path.GetFileNameWithoutExtension(file);
                    else o.EnvironmentFile = $"hocon/{file}";
                    o.Registry = new MessageTypeRegistry().Register<EnvCounted>("env.counted").Register<EnvCount>("env.count");
                    // The file's own store, but never a shared file: SQLite environments get a fresh one.
                    if (!production) o.Persistence.ConnectionString = $"Data Source={sqlite}";
                    o.AddAggregate(new Counter());
                });
                // Per-node values a deployment adds over any environment: where this node listens, and its seed.
                b.AddHocon($"""
                    akka.remote.dot-netty.tcp.hostname = "127.0.0.1"
                    akka.remote.dot-netty.tcp.port = {port}
                    akka.cluster.seed-nodes = ["akka.tcp://envcheck@127.0.0.1:{port}"]
                    """, HoconAddMode.Prepend);
            }))
            .Build();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var cluster = Cluster.Cluster.Get(system);
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.RegisterOnMemberUp(() => up.TrySetResult());
            await up.Task.WaitAsync(TimeSpan.FromSeconds(60));

            var counter = Aggregates.Get(system).Repository(new Counter());
            var id = Guid.NewGuid().ToString("N");
            Assert.IsType<CommandAccepted>(await counter.SendAsync(id, new EnvCount(2)));
            Assert.IsType<CommandAccepted>(await counter.SendAsync(id, new EnvCount(3)));
            var state = await counter.GetStateAsync(id);
            Assert.Equal((2L, 5), (state.Version, state.State));
        }
        finally
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(cts.Token);
            foreach (var f in new[] { sqlite, sqlite + "-wal", sqlite + "-shm" }) File.Delete(f);
        }
    }

    private sealed class Counter : Aggregate<int>
    {
        public override string Name => "EnvCounter";
        public override int InitialState => 0;
        public override int Apply(int state, object @event) => @event is EnvCounted c ? state + c.By : state;
        public override Decision Decide(int state, object command) => command is EnvCount c ? Decision.Raise(new EnvCounted(c.By)) : Decision.Unhandled(command);
    }

    private static string HoconDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Akka.EventDriven.sln")))
                return Path.Combine(dir.FullName, "hocon");
        return Path.Combine(AppContext.BaseDirectory, "hocon");
    }

    private static int FreePort()
    {
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException) { }
        }
        throw new InvalidOperationException("no free port below the ephemeral range");
    }
}

public sealed record EnvCount(int By);
public sealed record EnvCounted(int By);

/// <summary>Compares the keys a HOCON file sets with the keys the modules' reference.conf files define.</summary>
internal static class HoconKeys
{
    // Sections whose keys are names the user chooses (serializer names, type bindings, deployments, roles, aggregates).
    private static readonly string[] OpenSections =
    [
        "akka.actor.serializers", "akka.actor.serialization-bindings", "akka.actor.serialization-identifiers",
        "akka.actor.deployment", "akka.cluster.role", "akka.event-driven.event-sourcing.aggregates",
        "akka.event-driven.bus.durable.topics", "akka.event-driven.kafka.properties",
        "akka.event-driven.kafka.consumer.properties", "akka.event-driven.kafka.producer.properties",
    ];

    /// <summary>Every module's defaults: Akka's (core, remote, cluster, sharding, tools, persistence, streams) and
    /// Akka.EventDriven's (persistence and event sourcing, bus, sagas, streaming, Kafka), as a node loads them.</summary>
    public static Config Reference() =>
        EventDrivenHostingExtensions.BuildConfig(new EventDrivenOptions(), out _)
            .WithFallback(EventBus.EventBusConfig.DefaultConfig())
            .WithFallback(Sagas.SagaConfig.DefaultConfig())
            .WithFallback(Streaming.StreamingConfig.DefaultConfig())
            .WithFallback(Cqrs.CqrsConfig.DefaultConfig())
            .WithFallback(Kafka.KafkaConfig.DefaultConfig())
            .WithFallback(Akka.Cluster.Sharding.ClusterSharding.DefaultConfig())
            .WithFallback(Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.DefaultConfig())
            .WithFallback(Akka.Cluster.Tools.Singleton.ClusterSingleton.DefaultConfig())
            .WithFallback(Akka.Persistence.Persistence.DefaultConfig())
            .WithFallback(Embedded(typeof(Akka.Cluster.Cluster).Assembly))
            .WithFallback(Embedded(typeof(Akka.Remote.RemoteSettings).Assembly))
            .WithFallback(Akka.Streams.ActorMaterializer.DefaultConfig())
            .WithFallback(ConfigurationFactory.Default());

    // The reference .conf files an Akka module embeds (its defaults, which it injects when it starts).
    private static Config Embedded(System.Reflection.Assembly assembly)
    {
        var config = Config.Empty;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.EndsWith(".conf", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            config = config.WithFallback(ConfigurationFactory.ParseString(reader.ReadToEnd()));
        }
        Assert.False(config.IsEmpty, $"{assembly.GetName().Name} embeds no reference .conf");
        return config;
    }

    /// <summary>The leaf keys of <paramref name="file"/> that <paramref name="reference"/> does not define, in file order.</summary>
    public static IReadOnlyList<string> Unknown(Config file, Config reference)
    {
        var unknown = new List<string>();
        Walk(file.Root, [], reference, unknown);
        return unknown;
    }

    private static void Walk(HoconValue value, List<string> path, Config reference, List<string> unknown)
    {
        var dotted = string.Join('.', path);
        if (path.Count > 0 && OpenSections.Any(s => dotted.StartsWith(s + ".", StringComparison.Ordinal) || dotted == s)) return;
        if (value.IsObject() && (path.Count == 0 || Defined(reference, path) is { } r && r.IsObject()))
        {
            foreach (var (key, child) in value.GetObject().Items)
                Walk(child, [.. path, key], reference, unknown);
            return;
        }
        if (Defined(reference, path) is null) unknown.Add(dotted);
    }

    // Keys with dots in them only occur in the open sections, which are not looked up.
    private static HoconValue? Defined(Config reference, List<string> path)
    {
        var dotted = string.Join('.', path);
        return reference.HasPath(dotted) ? reference.GetValue(dotted) : null;
    }
}
