using Akka.EventDriven.Benchmarks;

// Console benchmark harness:
//   <suite> [--quick]   run one suite; writes artifacts/bench/<suite>.json (relative to the current directory)
//   list                the suites, one a line, in the order `./build.sh bench all` runs them
//   report ...          docs/benchmarks.md from the artifacts/bench/*.json of a `bench all` run (BenchReport.cs)

// A subscriber node process of the pubsub suite (started by the suite itself).
if (args.Length > 0 && args[0] == "pubsub-node") return await PubSubSuite.NodeMainAsync(args);
if (args.Length > 0 && args[0] == "list")
{
    foreach (var name in Suites.All.Keys) Console.WriteLine(name);
    return 0;
}
if (args.Length > 0 && args[0] == "report") return await BenchReport.MainAsync(args[1..]);

var quick = args.Contains("--quick");
var positional = args.Where(a => !a.StartsWith("--")).ToArray();
if (positional.Length != 1 || !Suites.All.TryGetValue(positional[0], out var suite))
{
    Console.Error.WriteLine(positional.Length == 0 ? "usage: Akka.EventDriven.Benchmarks <suite> [--quick] | list | report" : $"unknown suite '{positional[0]}'");
    Console.Error.WriteLine("suites:");
    foreach (var (name, (description, _)) in Suites.All) Console.Error.WriteLine($"  {name,-14} {description}");
    return 2;
}
return await SuiteRunner.RunAsync(positional[0], suite.Run, quick);
