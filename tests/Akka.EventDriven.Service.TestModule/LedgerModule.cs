using Akka.EventDriven.Hosting;
using Akka.EventDriven.Http;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.Service.TestModule;

[EventType("ledger.deposit", 1)] public sealed record Deposit(long Amount);
[EventType("ledger.deposited", 1)] public sealed record Deposited(long Amount);
[EventType("ledger.state", 1)] public sealed record LedgerState(long Balance, int Deposits);
[EventType("ledger.notice", 1)] public sealed record Notice(string Text);

/// <summary>A balance that only grows: deposits must be positive.</summary>
public sealed class Ledger : Aggregate<LedgerState>
{
    public static readonly Ledger Definition = new();
    public override string Name => "Ledger";
    public override LedgerState InitialState => new(0, 0);

    public override Decision Decide(LedgerState state, object command) => command switch
    {
        Deposit { Amount: <= 0 } => Decision.Reject("A deposit must be positive."),
        Deposit d => Decision.Raise(new Deposited(d.Amount)),
        _ => Decision.Unhandled(command),
    };

    public override LedgerState Apply(LedgerState state, object @event) => @event switch
    {
        Deposited d => new LedgerState(state.Balance + d.Amount, state.Deposits + 1),
        _ => state,
    };
}

public sealed class LedgerModule : IEventDrivenModule
{
    public string Name => "ledger";
    public void Configure(EventDrivenOptions options) => options.RegisterTypes(typeof(Ledger).Assembly).AddAggregate(Ledger.Definition);
    public void ConfigureHttp(EventDrivenHttpOptions options) => options.RouteCommands(Ledger.Definition, typeof(Deposit));

    public void ConfigureAkka(Akka.Hosting.AkkaConfigurationBuilder builder)
    {
        if (FaultWitnesses.Enabled) FaultWitnesses.Add(builder);
        if (PoisonWitnesses.Enabled) PoisonWitnesses.Add(builder);
    }
}
