using Akka.Actor;
using Akka.EventDriven;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Hosting;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Usage: Akka.EventDriven.TestNode <postgres-url> <run-id> <aggregates>
// Sends Increment commands to <aggregates> counters as fast as it can and prints "ack <id> <version>" for every
// command acknowledged as durable, until it is killed. A crash test kills it with SIGKILL mid-run.
if (args.Length > 0 && args[0] == "saga") return await SagaCrashNode.RunAsync(args[1..]);
if (args.Length != 3) { Console.Error.WriteLine("usage: <postgres-url> <run-id> <aggregates>"); return 2; }
var (url, runId, count) = (args[0], args[1], int.Parse(args[2]));

var host = Host.CreateDefaultBuilder()
    .ConfigureLogging(l => l.ClearProviders())
    .ConfigureServices(s => s.AddAkka("crashnode", b => b
        .WithEventDriven(o =>
        {
            o.Registry.Register<Increment>("crash.increment").Register<Incremented>("crash.incremented");
            o.Persistence.Provider = StoreProvider.PostgreSql;
            o.Persistence.ConnectionString = url;
            o.AddAggregate(Counter.Definition, a => a.SnapshotEvery = 0);
        })
        .AddHocon("akka.loglevel = ERROR\nakka.remote.dot-netty.tcp.port = 0\nakka.remote.dot-netty.tcp.hostname = \"127.0.0.1\"", HoconAddMode.Prepend)))
    .Build();
await host.StartAsync();
var repo = Aggregates.Get(host.Services.GetRequiredService<ActorSystem>()).Repository(Counter.Definition);
var output = TextWriter.Synchronized(Console.Out);
output.WriteLine("ready");
output.Flush();
await Task.WhenAll(Enumerable.Range(0, count).SelectMany(i => Enumerable.Range(0, 4).Select(async _ =>
{
    var id = $"{runId}-{i}";
    while (true)
    {
        var result = await repo.SendAsync(id, new Increment());
        output.WriteLine($"ack {id} {result.Version}");
        output.Flush();
    }
})));
return 0;

public sealed record Increment;
public sealed record Incremented;

public sealed class Counter : Aggregate<long>
{
    public static readonly Counter Definition = new();
    public override string Name => "Counter";
    public override long InitialState => 0;
    public override long Apply(long state, object @event) => state + 1;
    public override Decision Decide(long state, object command) => Decision.Raise(new Incremented());
}
