using Akka.EventDriven.Benchmarks;
using Akka.EventDriven.Benchmarks.Peers;

// Peers harness: ./build.sh bench peers [--quick] (also run by ./build.sh bench all).
// Writes artifacts/bench/peers.json, in the format of the platform's own suites.
var positional = args.Where(a => !a.StartsWith("--")).ToArray();
if (positional.Length > 1 || (positional.Length == 1 && positional[0] != "peers"))
{
    Console.Error.WriteLine("usage: Akka.EventDriven.Benchmarks.Peers [peers] [--quick]");
    return 2;
}
return await SuiteRunner.RunAsync("peers", PeersSuite.RunAsync, args.Contains("--quick"));
