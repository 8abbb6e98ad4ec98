using System.Diagnostics;
using IntelOps;

// The main job: the IntelOps system running live on the embedded default (an SQLite file, nothing installed), its HTTP
// API and console on http://127.0.0.1:3000, and synthetic intelligence traffic through that API until Ctrl+C (or the
// bound given). With --verify it then checks everything the traffic should have produced and exits 1 on any mismatch.
//
//   dotnet run --project samples/IntelOps [-- --duration 30s | --events N] [--rate N] [--port N] [--no-dashboard] [--verify]
var options = JobOptions.Parse(args);
if (options.Error is { } error)
{
    Console.Error.WriteLine($"IntelOps: {error}\n{JobOptions.Usage}");
    return 2;
}
if (options.Help)
{
    Console.WriteLine(JobOptions.Usage);
    return 0;
}

var environment = Environment.GetEnvironmentVariable("INTELOPS_ENV") ?? "development";
var runId = DateTime.UtcNow.ToString("yyyyMMddHHmmss") + Random.Shared.Next(100, 999);
await using var live = await LiveSystem.StartAsync(environment, options.Port, options.Dashboard, runId);
Console.WriteLine($"IntelOps is running: {live.Address.ToString().TrimEnd('/')}" + (options.Dashboard ? " (console at /, API at /api)" : " (API at /api)"));
Console.WriteLine($"IntelOps: environment '{environment}', run {runId}, {options.Rate} calls/s, " +
                  (options.Events is { } n ? $"{n} calls" : options.Duration is { } d ? $"for {d.TotalSeconds:0} s" : "until Ctrl+C"));

using var stop = new CancellationTokenSource();
if (options.Duration is { } duration) stop.CancelAfter(duration);
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // stop the traffic, then shut down gracefully
    stop.Cancel();
};
var generator = new TrafficGenerator(live.Address, runId, options.Rate, options.Events);
var clock = Stopwatch.StartNew();
var traffic = generator.RunAsync(stop.Token);
var progress = new ProgressLine(live, generator, clock);
while (!traffic.IsCompleted)
{
    await Task.WhenAny(traffic, Task.Delay(TimeSpan.FromSeconds(1)));
    await progress.ShowAsync();
}
await traffic;
progress.End();

var failures = new List<string>();
if (options.Verify)
{
    failures.AddRange(await LiveChecks.RunAsync(live, generator));
}
await live.StopPipelinesAsync();
await Summary.PrintAsync(live, generator, clock.Elapsed);
if (options.Verify)
{
    failures.AddRange(LiveChecks.Windows(live, generator));
    await live.DisposeAsync();
    failures.AddRange(await LiveChecks.RecoveryAsync(environment, generator));
    // The scenario checks of the bus and the saga (a subscription down for part of the time, a poison message fixed
    // and replayed, request-reply; the four saga outcomes), each on a node of its own.
    if (await Messaging.RunAsync(environment, runId) != 0) failures.Add("bus scenarios");
    if (await Enrichment.RunAsync(environment, runId) != 0) failures.Add("saga scenarios");
    if (failures.Count > 0)
    {
        Console.Error.WriteLine("IntelOps: FAILED: " + string.Join("; ", failures));
        return 1;
    }
    Console.WriteLine("IntelOps: OK");
}
return 0;
