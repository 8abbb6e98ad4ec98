using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Akka.EventDriven.Benchmarks;
using Akka.EventDriven.EventSourcing.Storage;

// Console benchmark harness: ./build.sh bench <suite> [--quick]
// Writes artifacts/bench/<suite>.json (relative to the current directory, the repo root under build.sh).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

// A subscriber node process of the pubsub suite (started by the suite itself).
if (args.Length > 0 && args[0] == "pubsub-node") return await PubSubSuite.NodeMainAsync(args);

var quick = args.Contains("--quick");
var positional = args.Where(a => !a.StartsWith("--")).ToArray();
if (positional.Length != 1 || !Suites.All.TryGetValue(positional[0], out var suite))
{
    Console.Error.WriteLine(positional.Length == 0 ? "usage: Akka.EventDriven.Benchmarks <suite> [--quick]" : $"unknown suite '{positional[0]}'");
    Console.Error.WriteLine("suites:");
    foreach (var (name, (description, _)) in Suites.All) Console.Error.WriteLine($"  {name,-14} {description}");
    return 2;
}
var suiteName = positional[0];

var url = Environment.GetEnvironmentVariable("DATABASE_URL");
if (string.IsNullOrWhiteSpace(url))
{
    Console.Error.WriteLine("error: DATABASE_URL is not set. Run through './build.sh bench <suite>' (it starts a private PostgreSQL), " +
                            "or set DATABASE_URL=postgresql://user:password@host:port/database.");
    return 1;
}
var connectionString = StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, url);
var runId = $"r{DateTime.UtcNow:yyyyMMddHHmmss}{Random.Shared.Next(1000, 9999)}";

Console.WriteLine($"Akka.EventDriven benchmark '{suiteName}'{(quick ? " (quick)" : "")}, run {runId}, " +
                  $"{Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}");
var result = await suite.Run(new RunContext(connectionString, runId, quick));

var ratio = Math.Round(result.Ratio, 3);
Console.WriteLine();
Console.WriteLine($"{"suite",-14} {"platform/s",12} {"baseline/s",12} {"ratio",7} {"goal",6} {"events",10} {"seconds",8}  verdict");
Console.WriteLine(new string('-', 84));
Console.WriteLine($"{suiteName,-14} {result.PlatformPerSecond,12:0} {result.BaselinePerSecond,12:0} {ratio,7:0.000} {result.Goal,6:0.00} " +
                  $"{result.Events,10} {result.DurationSeconds,8:0.00}  {(ratio >= result.Goal ? "meets goal" : "below goal")}");
Console.WriteLine();

var report = new Dictionary<string, object?>
{
    ["suite"] = suiteName,
    ["ratio"] = ratio,
    ["goal"] = result.Goal,
    ["meets_goal"] = ratio >= result.Goal,
    ["platform_per_s"] = Math.Round(result.PlatformPerSecond, 1),
    ["baseline_per_s"] = Math.Round(result.BaselinePerSecond, 1),
    ["events"] = result.Events,
    ["duration_s"] = Math.Round(result.DurationSeconds, 3),
    ["quick"] = quick,
    ["platform"] = $"{RuntimeInformation.OSDescription.Trim()} {RuntimeInformation.OSArchitecture}, {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}",
    ["timestamp_utc"] = DateTime.UtcNow.ToString("O"),
    // Non-default diagnosis knobs (BENCH_*): a run with any of them set is not a standard run of the suite.
    ["overrides"] = Environment.GetEnvironmentVariables().Keys.Cast<string>()
        .Where(k => k.StartsWith("BENCH_", StringComparison.Ordinal)).Order()
        .ToDictionary(k => k, k => Environment.GetEnvironmentVariable(k)),
    ["details"] = result.Details,
};
var dir = Path.Combine("artifacts", "bench");
Directory.CreateDirectory(dir);
var path = Path.Combine(dir, $"{suiteName}.json");
await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, new JsonSerializerOptions
{
    WriteIndented = true,
    Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
}) + "\n");
Console.WriteLine($"wrote {Path.GetFullPath(path)}");
return 0;
