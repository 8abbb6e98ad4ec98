using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Akka.EventDriven.Storage;
using Npgsql;

namespace Akka.EventDriven.Benchmarks;

/// <summary>What one suite run produced: its comparisons and details. The suite's <c>ratio</c> is that of the main
/// comparison: the one named <paramref name="Main"/>, or else the first.</summary>
public sealed record SuiteResult(IReadOnlyList<Comparison> Comparisons, Dictionary<string, object?> Details, string? Main = null)
{
    /// <summary>Measured figures of the suite's own beside its comparisons (printed in docs/benchmarks.md).</summary>
    public Dictionary<string, object?> Figures { get; init; } = [];

    public Comparison MainComparison => Main is null ? Comparisons[0] : Comparisons.Single(c => c.Name == Main);
}

/// <summary>Shared inputs of a suite run.</summary>
public sealed record RunContext(string ConnectionString, string RunId, bool Quick)
{
    /// <summary>The baseline's connection string: auto-prepare on, as a tuned raw writer would use.</summary>
    public string RawConnectionString => new NpgsqlConnectionStringBuilder(ConnectionString)
    {
        MaxAutoPrepare = 20,
        AutoPrepareMinUsages = 2,
    }.ConnectionString;
}

/// <summary>Runs one suite against <c>DATABASE_URL</c> and writes <c>artifacts/bench/&lt;suite&gt;.json</c> (relative to
/// the current directory, the repository root under build.sh). Used by this harness and by the peers harness.</summary>
public static class SuiteRunner
{
    public static async Task<int> RunAsync(string suiteName, Func<RunContext, Task<SuiteResult>> suite, bool quick)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        var url = Environment.GetEnvironmentVariable("DATABASE_URL");
        if (string.IsNullOrWhiteSpace(url))
        {
            Console.Error.WriteLine("error: DATABASE_URL is not set. Run through './build.sh bench <suite>' (it starts a private PostgreSQL), " +
                                    "or set DATABASE_URL=postgresql://user:password@host:port/database.");
            return 1;
        }
        var connectionString = StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, url);
        var runId = $"r{DateTime.UtcNow:yyyyMMddHHmmss}{Random.Shared.Next(1000, 9999)}";
        await CpuMeter.InitAsync(connectionString);
        var machine = await MachineInfo.DescribeAsync(connectionString);

        Console.WriteLine($"Akka.EventDriven benchmark '{suiteName}'{(quick ? " (quick)" : "")}, run {runId}, " +
                          $"{Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}, " +
                          $"database CPU {(CpuMeter.PostmasterPid is { } pid ? $"measured (postmaster {pid})" : "not visible")}");
        var started = DateTime.UtcNow;
        SuiteResult result;
        try
        {
            result = await suite(new RunContext(connectionString, runId, quick));
        }
        catch (Exception e)
        {
            // A clear failure (exit code 1, no JSON) rather than a crash: `bench all` reports it and runs the next suite.
            Console.Error.WriteLine($"error: suite '{suiteName}' failed: {e}");
            return 1;
        }
        var wall = DateTime.UtcNow - started;

        Console.WriteLine();
        Console.WriteLine($"{"comparison",-22} {"platform",12} {"baseline",12} {"unit",-14} {"ratio",7} {"min-max",13} {"goal",6}  verdict");
        Console.WriteLine(new string('-', 104));
        foreach (var c in result.Comparisons)
            Console.WriteLine($"{c.Name,-22} {c.PlatformMedian,12:0.#} {c.BaselineMedian,12:0.#} {c.Unit,-14} {c.Ratio,7:0.000} " +
                              $"{$"{c.RatioMin:0.00}-{c.RatioMax:0.00}",13} {(c.Goal is { } g ? g.ToString("0.00") : "-"),6}  " +
                              $"{c.MeetsGoal switch { true => "meets goal", false => "below goal", null => "no goal" }}");
        Console.WriteLine();

        var main = result.MainComparison;
        var platformRuns = main.Pairs.Select(p => p.PlatformRun).OfType<Measurement>().ToList();
        var report = new Dictionary<string, object?>
        {
            ["suite"] = suiteName,
            // The main comparison's median ratio over its pairs of alternating rounds (see comparisons for every figure).
            ["ratio"] = Math.Round(main.Ratio, 3),
            ["ratio_min"] = Math.Round(main.RatioMin, 3),
            ["ratio_max"] = Math.Round(main.RatioMax, 3),
            ["pairs"] = main.Pairs.Count,
            ["goal"] = main.Goal,
            ["meets_goal"] = main.MeetsGoal,
            ["all_goals_met"] = result.Comparisons.All(c => c.MeetsGoal != false),
            ["main_comparison"] = main.Name,
            ["unit"] = main.Unit,
            ["platform_per_s"] = Math.Round(main.PlatformMedian, 1),
            ["baseline_per_s"] = Math.Round(main.BaselineMedian, 1),
            ["events"] = platformRuns.Sum(r => r.Count),
            ["duration_s"] = Math.Round(platformRuns.Sum(r => r.Elapsed.TotalSeconds), 3),
            ["wall_s"] = Math.Round(wall.TotalSeconds, 1),
            ["quick"] = quick,
            ["platform"] = $"{RuntimeInformation.OSDescription.Trim()} {RuntimeInformation.OSArchitecture}, {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}",
            ["machine"] = machine,
            ["timestamp_utc"] = DateTime.UtcNow.ToString("O"),
            // Non-default diagnosis knobs (BENCH_*): a run with any of them set is not a standard run of the suite.
            ["overrides"] = Environment.GetEnvironmentVariables().Keys.Cast<string>()
                .Where(k => k.StartsWith("BENCH_", StringComparison.Ordinal)).Order()
                .ToDictionary(k => k, k => Environment.GetEnvironmentVariable(k)),
            ["comparisons"] = result.Comparisons.Select(c => c.Describe()).ToArray(),
            ["details"] = result.Details,
            ["figures"] = result.Figures,
        };
        var dir = Path.Combine("artifacts", "bench");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"{suiteName}.json");
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, JsonOptions) + "\n");
        Console.WriteLine($"wrote {Path.GetFullPath(path)}");
        return 0;
    }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}

/// <summary>The machine and database a run measured on, written into every suite's JSON.</summary>
public static class MachineInfo
{
    public static async Task<Dictionary<string, object?>> DescribeAsync(string? connectionString)
    {
        var info = new Dictionary<string, object?>
        {
            ["cores"] = Environment.ProcessorCount,
            ["cpu_model"] = CpuModel(),
            ["memory_gib"] = MemoryGib(),
            ["os"] = RuntimeInformation.OSDescription.Trim(),
            ["runtime"] = RuntimeInformation.FrameworkDescription,
        };
        if (connectionString is null) return info;
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            foreach (var setting in new[] { "server_version", "fsync", "synchronous_commit", "shared_buffers", "max_connections" })
            {
                await using var cmd = new NpgsqlCommand($"SHOW {setting}", connection);
                info[$"postgresql_{setting}"] = (string?)await cmd.ExecuteScalarAsync();
            }
            info["postgresql_host"] = $"{connection.Host}:{connection.Port}";
            info["postgresql_cpu_measured"] = CpuMeter.PostmasterPid is not null;
        }
        catch (NpgsqlException e)
        {
            info["postgresql_error"] = e.Message;
        }
        return info;
    }

    /// <summary>The CPU model from /proc/cpuinfo (Linux), or the architecture elsewhere.</summary>
    public static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static double? MemoryGib()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            return Math.Round(kb / 1024.0 / 1024.0, 1);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or FormatException) { return null; }
    }
}
