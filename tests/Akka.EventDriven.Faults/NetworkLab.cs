using System.Diagnostics;

namespace Akka.EventDriven.Faults;

/// <summary>
/// Network namespaces for a partition test: a bridge in the host's namespace (its address is where PostgreSQL and the
/// test itself are reached) and one namespace per node, each joined to the bridge by a veth pair and given its own
/// address. <see cref="Isolate"/> cuts one node off from the others (blackhole routes both ways) while it still
/// reaches the bridge, so the database stays reachable from every side: only the cluster splits. Needs root and
/// iproute2; <see cref="Unavailable"/> says why not where that is missing.
/// </summary>
public sealed class NetworkLab : IAsyncDisposable
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..5];
    private readonly List<string> _namespaces = [];
    private readonly List<(int Ns, string Route)> _blackholes = [];
    private readonly int _subnet = Random.Shared.Next(100, 250);

    private NetworkLab() { }

    /// <summary>The bridge's address, reachable from every namespace.</summary>
    public string HostAddress => $"10.{_subnet}.77.1";

    /// <summary>The address of node <paramref name="i"/>'s namespace.</summary>
    public string NodeAddress(int i) => $"10.{_subnet}.77.{11 + i}";

    /// <summary>The subnet of the lab, for PostgreSQL's pg_hba.conf.</summary>
    public string Subnet => $"10.{_subnet}.77.0/24";

    /// <summary>The name of node <paramref name="i"/>'s namespace (for <c>ip netns exec</c>).</summary>
    public string Namespace(int i) => _namespaces[i];

    private string Bridge => $"edb{_id}";

    /// <summary>Why the lab cannot run here, or null when it can (root, and <c>ip netns add</c> works).</summary>
    public static string? Unavailable
    {
        get
        {
            if (!OperatingSystem.IsLinux()) return "network namespaces need Linux";
            if (Environment.UserName != "root") return "network namespaces need root (run the suite as root, as CI does)";
            var probe = $"edprobe{Guid.NewGuid():N}"[..12];
            try
            {
                Run("ip", "netns", "add", probe).Wait();
                Run("ip", "netns", "del", probe).Wait();
                return null;
            }
            catch (Exception e)
            {
                return $"'ip netns add' is not permitted here: {e.GetBaseException().Message}";
            }
        }
    }

    /// <summary>Creates the bridge and <paramref name="nodes"/> namespaces joined to it.</summary>
    public static async Task<NetworkLab> StartAsync(int nodes)
    {
        var lab = new NetworkLab();
        try
        {
            await Run("ip", "link", "add", lab.Bridge, "type", "bridge");
            await Run("ip", "addr", "add", $"{lab.HostAddress}/24", "dev", lab.Bridge);
            await Run("ip", "link", "set", lab.Bridge, "up");
            for (var i = 0; i < nodes; i++)
            {
                var ns = $"ed{lab._id}n{i}";
                var (host, inside) = ($"edv{lab._id}{i}", $"edp{lab._id}{i}");
                await Run("ip", "netns", "add", ns);
                lab._namespaces.Add(ns);
                await Run("ip", "link", "add", host, "type", "veth", "peer", "name", inside);
                await Run("ip", "link", "set", inside, "netns", ns);
                await Run("ip", "link", "set", host, "master", lab.Bridge, "up");
                await Run("ip", "netns", "exec", ns, "ip", "addr", "add", $"{lab.NodeAddress(i)}/24", "dev", inside);
                await Run("ip", "netns", "exec", ns, "ip", "link", "set", inside, "up");
                await Run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
            }
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>Cuts node <paramref name="node"/> off from every other node, both ways; the bridge stays reachable.</summary>
    public async Task Isolate(int node)
    {
        for (var other = 0; other < _namespaces.Count; other++)
        {
            if (other == node) continue;
            await AddBlackhole(node, NodeAddress(other));
            await AddBlackhole(other, NodeAddress(node));
        }
    }

    /// <summary>Removes every cut.</summary>
    public async Task Heal()
    {
        foreach (var (ns, route) in _blackholes) await Run("ip", "netns", "exec", _namespaces[ns], "ip", "route", "del", "blackhole", route);
        _blackholes.Clear();
    }

    private async Task AddBlackhole(int ns, string address)
    {
        await Run("ip", "netns", "exec", _namespaces[ns], "ip", "route", "add", "blackhole", $"{address}/32");
        _blackholes.Add((ns, $"{address}/32"));
    }

    private static async Task Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited {process.ExitCode}: {(await error).Trim()}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var ns in _namespaces)
            try { await Run("ip", "netns", "del", ns); } catch (InvalidOperationException) { }
        try { await Run("ip", "link", "del", Bridge); } catch (InvalidOperationException) { }
    }
}

/// <summary>A fact that is skipped, with the reason, where network namespaces cannot be made.</summary>
public sealed class NetnsFactAttribute : FactAttribute
{
    public NetnsFactAttribute()
    {
        if (NetworkLab.Unavailable is { } reason) Skip = reason;
    }
}
