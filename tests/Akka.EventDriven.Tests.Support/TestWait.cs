namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>Waiting helpers shared by the specs (no fixed sleeps: poll an assertion until a deadline).</summary>
public static class TestWait
{
    /// <summary>Polls <paramref name="assertion"/> until it holds or <paramref name="within"/> (15 s) passes.</summary>
    public static Task UntilAsync(Func<Task> assertion, TimeSpan? within = null) =>
        PollAsync(assertion, DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15)), () => true);

    /// <summary>The one poll loop: the assertion again every 100 ms until the deadline; once
    /// <paramref name="keepGoing"/> (asked after each failed try) says no, one last try, then its failure.</summary>
    private static async Task PollAsync(Func<Task> assertion, DateTime deadline, Func<bool> keepGoing)
    {
        while (true)
        {
            try { await assertion(); return; }
            catch (Exception) when (DateTime.UtcNow < deadline) { await Task.Delay(100); }
            if (!keepGoing()) deadline = DateTime.MinValue; // one last try, then its failure
        }
    }

    /// <summary>Polls <paramref name="assertion"/> until it holds; fails when <paramref name="progress"/> (a count that
    /// grows while work is being done: messages handled, rows written) has not moved for <paramref name="stall"/>, or
    /// after <paramref name="within"/> (5 minutes) in all. For a backlog whose size depends on how fast a loaded machine
    /// ran the test: a stall is the defect, slowness is not.</summary>
    public static Task UntilWhileProgressingAsync(Func<Task> assertion, Func<long> progress, TimeSpan stall,
        TimeSpan? within = null)
    {
        var last = progress();
        var movedAt = DateTime.UtcNow;
        return PollAsync(assertion, DateTime.UtcNow + (within ?? TimeSpan.FromMinutes(5)), () =>
        {
            var now = progress();
            if (now != last) (last, movedAt) = (now, DateTime.UtcNow);
            return DateTime.UtcNow - movedAt < stall;
        });
    }

    /// <summary>An absence check: fails as soon as <paramref name="happened"/> turns true, and passes when it stayed false
    /// for the whole of <paramref name="during"/>. Use it where the property is that something must NOT happen for a
    /// while (a hand-over must wait, a late event must not be passed over); the wait is the property, not a guess at
    /// how long something takes.</summary>
    public static async Task NeverWithinAsync(Func<bool> happened, TimeSpan during, Func<string> because)
    {
        var deadline = DateTime.UtcNow + during;
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (DateTime.UtcNow < deadline)
        {
            if (happened()) throw new Xunit.Sdk.XunitException(because());
            await poll.WaitForNextTickAsync();
        }
        if (happened()) throw new Xunit.Sdk.XunitException(because());
    }

    /// <summary>A free TCP port on 127.0.0.1.</summary>
    public static int FreePort()
    {
        // Below the kernel's ephemeral range (32768-60999 here): a port handed out by binding port 0 comes from that
        // range, and between releasing it and the node binding it, any outgoing connection (a database client, a
        // test) may take it as its local port. Ports below it are only ever taken by listeners.
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var port = System.Random.Shared.Next(20_000, 32_000);
            try
            {
                using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException) { }
        }
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
