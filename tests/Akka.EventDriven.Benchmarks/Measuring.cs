using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Akka.EventDriven.Benchmarks;

/// <summary>
/// CPU time used so far by this process (plus any child processes a suite names) and by the PostgreSQL server, so that
/// each side of a comparison can be charged the CPU it cost, not only the time it took. The server's CPU is read from
/// /proc: its postmaster, every live child of it, and the children it has already reaped (cutime/cstime), which is
/// where the time of finished backends goes. It is known only when the server runs on this machine (a private server
/// started by build.sh does); on a shared server it includes everyone's work.
/// </summary>
public static class CpuMeter
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux
    private static int? _postmaster;

    /// <summary>The PostgreSQL server's postmaster process id on this machine, or null when it is not visible.</summary>
    public static int? PostmasterPid => _postmaster;

    /// <summary>Finds the postmaster of the server behind <paramref name="connectionString"/> (the parent of this
    /// connection's backend), if it runs on this machine; without it the database CPU is not reported.</summary>
    public static async Task InitAsync(string connectionString)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
            var backend = Convert.ToInt32(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
            if (Stat(backend) is { } stat && Stat(stat.ParentPid) is { Command: "postgres" or "postmaster" }) _postmaster = stat.ParentPid;
        }
        catch (Exception e) when (e is NpgsqlException or IOException or UnauthorizedAccessException or FormatException)
        {
            _postmaster = null;
        }
    }

    /// <summary>CPU seconds so far: this process plus <paramref name="children"/>, and the database server (null when unknown).</summary>
    public static (double Process, double? Database) Sample(IReadOnlyCollection<int>? children = null)
    {
        var process = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        if (children is not null)
            foreach (var pid in children)
                if (Stat(pid) is { } s) process += s.OwnTicks / TicksPerSecond;
        return (process, DatabaseSeconds());
    }

    private static double? DatabaseSeconds()
    {
        if (_postmaster is not { } master || Stat(master) is not { } root) return null;
        double ticks = root.OwnTicks + root.ReapedChildTicks;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == master) continue;
            if (Stat(pid) is { } s && s.ParentPid == master) ticks += s.OwnTicks + s.ReapedChildTicks;
        }
        return ticks / TicksPerSecond;
    }

    private sealed record ProcStat(string Command, int ParentPid, long OwnTicks, long ReapedChildTicks);

    private static ProcStat? Stat(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        // "pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17)": comm may hold spaces, so split after ')'.
        var close = text.LastIndexOf(')');
        if (close < 0) return null;
        var open = text.IndexOf('(');
        var f = text[(close + 2)..].Split(' ');
        long L(int field) => long.Parse(f[field - 3], CultureInfo.InvariantCulture);
        return new ProcStat(text[(open + 1)..close], (int)L(4), L(14) + L(15), L(16) + L(17));
    }
}

/// <summary>Starts a measured span: wall clock, CPU of this process (and named children) and of the database, load average.</summary>
public sealed class MeasureClock
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly (double Process, double? Database) _cpu;
    private readonly double? _load = MeasureWindow.LoadAverage();
    private readonly IReadOnlyCollection<int>? _children;

    private MeasureClock(IReadOnlyCollection<int>? children)
    {
        _children = children;
        _cpu = CpuMeter.Sample(children);
    }

    /// <summary>Starts measuring now; <paramref name="children"/> are processes whose CPU counts as this side's too.</summary>
    public static MeasureClock Start(IReadOnlyCollection<int>? children = null) => new(children);

    /// <summary>Ends the span: <paramref name="count"/> operations completed in it.</summary>
    public Measurement Stop(long count)
    {
        var elapsed = _clock.Elapsed;
        var (process, database) = CpuMeter.Sample(_children);
        return new Measurement(count, elapsed, process - _cpu.Process, _load, MeasureWindow.LoadAverage(),
            database is { } d && _cpu.Database is { } d0 ? d - d0 : null);
    }
}

/// <summary>Counts completed operations; measures the count over a window after a warm-up.</summary>
public sealed class MeasureWindow
{
    private long _count;
    private volatile bool _stopped;

    public bool Stopped => _stopped;
    public long Total => Interlocked.Read(ref _count);
    public void Add(long n) => Interlocked.Add(ref _count, n);

    /// <summary>Waits <paramref name="warmUp"/>, counts for <paramref name="measure"/>, then stops the workers and
    /// waits for them to finish their operations in flight.</summary>
    public async Task<Measurement> RunAsync(TimeSpan warmUp, TimeSpan measure, Task[] workers)
    {
        try
        {
            await Delay(warmUp, workers);
            var start = Total;
            var clock = MeasureClock.Start();
            await Delay(measure, workers);
            return clock.Stop(Total - start);
        }
        finally
        {
            _stopped = true;
            await Task.WhenAll(workers);
        }
    }

    // Fail fast if a worker dies during the run.
    private static async Task Delay(TimeSpan time, Task[] workers)
    {
        var delay = Task.Delay(time);
        var first = await Task.WhenAny(workers.Append(delay));
        if (first == delay) return;
        await first; // throws the worker's exception
        throw new InvalidOperationException("A benchmark worker ended before the run was over.");
    }

    /// <summary>The 1-minute load average (Linux), to spot runs disturbed by other work on the machine; null elsewhere.</summary>
    public static double? LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(text, CultureInfo.InvariantCulture);
        }
        catch (Exception) { return null; }
    }
}

/// <summary>Operations completed in a measured window, with the CPU time this process and the database server spent
/// in it and the machine's load average.</summary>
public sealed record Measurement(long Count, TimeSpan Elapsed, double ProcessCpuSeconds = 0, double? LoadBefore = null,
    double? LoadAfter = null, double? DatabaseCpuSeconds = null)
{
    public double PerSecond => Elapsed > TimeSpan.Zero ? Count / Elapsed.TotalSeconds : 0;

    /// <summary>CPU seconds of this process per 1,000 operations.</summary>
    public double? ProcessCpuPer1k => Count > 0 ? ProcessCpuSeconds * 1000 / Count : null;

    /// <summary>CPU seconds of the database server per 1,000 operations (null when the server's CPU is not visible).</summary>
    public double? DatabaseCpuPer1k => Count > 0 && DatabaseCpuSeconds is { } d ? d * 1000 / Count : null;

    public Dictionary<string, object?> Describe() => new()
    {
        ["count"] = Count,
        ["elapsed_s"] = Math.Round(Elapsed.TotalSeconds, 3),
        ["per_s"] = Math.Round(PerSecond, 1),
        ["process_cpu_s"] = Math.Round(ProcessCpuSeconds, 2),
        ["process_cpu_us_per_op"] = Count > 0 ? Math.Round(ProcessCpuSeconds * 1e6 / Count, 1) : null,
        ["database_cpu_s"] = DatabaseCpuSeconds is { } d ? Math.Round(d, 2) : null,
        ["load_avg_1m_before"] = LoadBefore,
        ["load_avg_1m_after"] = LoadAfter,
    };
}
