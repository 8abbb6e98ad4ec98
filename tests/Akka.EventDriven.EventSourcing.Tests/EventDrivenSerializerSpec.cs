using Akka.Actor;
using Akka.Actor.Setup;
using Akka.EventDriven.EventSourcing.Serialization;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// The serializer of stored events and snapshots reuses one buffer per thread: what it returns must never share
/// bytes with a later call, on the same thread or another, whatever the sizes.
/// </summary>
public sealed class EventDrivenSerializerSpec : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("serializer",
        BootstrapSetup.Create().WithConfig(EventSourcingConfig.DefaultConfig())
            .And(new MessageTypesSetup(LedgerTypes.Current().Register<LedgerState>("ledger.state"))));

    private EventDrivenSerializer Serializer => (EventDrivenSerializer)_system.Serialization.FindSerializerForType(typeof(DomainEvent));

    private static DomainEvent Event(string owner) => new(new Opened(owner),
        new EventMetadata(DateTimeOffset.UnixEpoch, "corr-" + owner, null, null) { CommandId = owner });

    private static AggregateSnapshot Snapshot(int commands) => new(new LedgerState("alice", 10m, commands), [1, 2])
    {
        Commands = Enumerable.Range(0, commands).Select(i => new RememberedCommand($"cmd-{i:D6}", i + 1, 1, i)).ToArray(),
    };

    [Fact]
    public void Each_result_keeps_its_own_bytes_when_a_later_call_reuses_the_buffer()
    {
        // A write that fails halfway (an unregistered state) leaves nothing behind for the next call.
        Assert.Throws<Akka.EventDriven.Serialization.UnregisteredMessageTypeException>(() =>
            Serializer.ToBinary(new AggregateSnapshot(new NotRegistered(), [])));
        var big = Serializer.ToBinary(Snapshot(2_000)); // grows the thread's buffer past what it keeps
        var small = Serializer.ToBinary(Event("bob"));
        var medium = Serializer.ToBinary(Snapshot(20));
        var copyOfSmall = small.ToArray();
        var again = Serializer.ToBinary(Event("a-much-longer-owner-name-than-bob"));

        Assert.Equal(copyOfSmall, small); // not overwritten by the calls after it
        var e = Assert.IsType<DomainEvent>(Serializer.FromBinary(small, Serializer.Manifest(Event("bob"))));
        Assert.Equal(new Opened("bob"), e.Payload);
        Assert.Equal("corr-bob", e.Metadata.CorrelationId);
        Assert.Equal(new Opened("a-much-longer-owner-name-than-bob"),
            ((DomainEvent)Serializer.FromBinary(again, Serializer.Manifest(Event("x")))).Payload);
        Assert.Equal(2_000, ((AggregateSnapshot)Serializer.FromBinary(big, "ed:snapshot")).Commands!.Count);
        Assert.Equal(20, ((AggregateSnapshot)Serializer.FromBinary(medium, "ed:snapshot")).Commands!.Count);
    }

    [Fact]
    public async Task Threads_serializing_at_once_get_what_each_gave()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                var owner = $"owner-{t}-{i}-{new string('x', i % 300)}";
                var bytes = Serializer.ToBinary(Event(owner));
                if (((DomainEvent)Serializer.FromBinary(bytes, Serializer.Manifest(Event("x")))).Payload is not Opened { Owner: var read } || read != owner)
                    return $"thread {t}, call {i}: read back a different event";
            }
            return null;
        })));
        Assert.All(results, Assert.Null);
    }

    private sealed record NotRegistered;

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));
}
