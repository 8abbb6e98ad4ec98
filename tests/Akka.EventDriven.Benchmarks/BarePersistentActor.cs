using Akka.Actor;
using Akka.Persistence;

namespace Akka.EventDriven.Benchmarks;

/// <summary>
/// The framework's floor for the scale suite's heap figure: a plain Akka.Persistence actor on the same journal, no
/// sharding, no platform bookkeeping. It recovers, persists one <see cref="Deposited"/> per <see cref="Deposit"/> and
/// answers the new count; what it holds is the state of two longs, as the benchmark's aggregate.
/// </summary>
public sealed class BarePersistentActor : UntypedPersistentActor
{
    private long _balance;
    private long _deposits;

    public BarePersistentActor(string persistenceId) => PersistenceId = persistenceId;

    public override string PersistenceId { get; }

    protected override void OnCommand(object message)
    {
        if (message is not Deposit d) { Unhandled(message); return; }
        Persist(new Deposited(d.Amount, "deposit-reference-0123456789"), e =>
        {
            Apply(e);
            Sender.Tell(_deposits);
        });
    }

    protected override void OnRecover(object message)
    {
        if (message is Deposited e) Apply(e);
    }

    private void Apply(Deposited e)
    {
        _balance += e.Amount;
        _deposits++;
    }
}
