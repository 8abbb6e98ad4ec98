using System.Collections.Concurrent;
using Akka.Cluster;
using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.EventBus.Tests;

[EventType("test.threat", 1)] public sealed record Threat(int Severity, string Name);
[EventType("test.ping", 1)] public sealed record Ping(int N);
[EventType("test.pong", 1)] public sealed record Pong(int N, string Node);
public sealed record NotRegistered(string Text);
[EventType("test.blob", 1)] public sealed record Blob(string Data);

/// <summary>Nodes of one cluster on 127.0.0.1, each built like a user's node (WithEventDriven + WithEventBus).</summary>
public sealed class BusCluster : IAsyncDisposable
{
    public List<NodeHost?> Nodes { get; } = new();
    public TestStore Store { get; }
    private readonly string _seeds;
    private readonly int _seedPort;

    private BusCluster(TestStore store)
    {
        Store = store;
        _seedPort = TestWait.FreePort();
        _seeds = $"akka.cluster.seed-nodes = [\"akka.tcp://edbus@127.0.0.1:{_seedPort}\"]";
    }

    public static MessageTypeRegistry Types() => LedgerTypes.Current()
        .Register<Threat>("test.threat").Register<Ping>("test.ping").Register<Pong>("test.pong").Register<Blob>("test.blob");

    public static async Task<BusCluster> StartAsync(TestStore store, int nodes, string extraHocon = "")
    {
        var cluster = new BusCluster(store);
        for (var i = 0; i < nodes; i++) await cluster.AddNodeAsync(i == 0, extraHocon);
        await cluster.WaitUpAsync();
        return cluster;
    }

    public async Task<NodeHost> AddNodeAsync(bool seed = false, string extraHocon = "")
    {
        var node = await NodeHost.StartAsync(Store, Types(),
            extraHocon: $"akka.remote.dot-netty.tcp.port = {(seed ? _seedPort : 0)}\n{_seeds}\n" +
                        "akka.event-driven.bus { routing-refresh-interval = 200ms, durable { poll-interval = 300ms, heartbeat-interval = 300ms, commit-interval = 100ms, visibility-timeout = 3s } }\n" +
                        extraHocon,
            systemName: "edbus", configure: b => b.WithEventBus());
        Nodes.Add(node);
        return node;
    }

    public MessageBus Bus(int i) => MessageBus.Get(Nodes[i]!.System);

    public async Task WaitUpAsync() => await TestWait.UntilAsync(() =>
    {
        var live = Nodes.Where(n => n is not null).ToList();
        foreach (var n in live)
            Assert.Equal(live.Count, Cluster.Cluster.Get(n!.System).State.Members.Count(m => m.Status == MemberStatus.Up));
        return Task.CompletedTask;
    }, TimeSpan.FromSeconds(30));

    public async Task StopNodeAsync(int i)
    {
        await Nodes[i]!.DisposeAsync();
        Nodes[i] = null;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = Nodes.Count - 1; i >= 0; i--)
            if (Nodes[i] is { } n) await n.DisposeAsync();
    }
}

/// <summary>Collects what handlers saw, thread-safe.</summary>
public sealed class Seen<T>
{
    public ConcurrentQueue<(string Who, BusMessage<T> Message)> Items { get; } = new();

    public Func<BusMessage<T>, CancellationToken, Task> Handler(string who) => (m, _) =>
    {
        Items.Enqueue((who, m));
        return Task.CompletedTask;
    };

    public List<BusMessage<T>> By(string who) => Items.Where(i => i.Who == who).Select(i => i.Message).ToList();
}
