using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.EventSourcing.Tests;

public sealed record Open(string Owner);
public sealed record Deposit(decimal Amount);
public sealed record Withdraw(decimal Amount);
public sealed record Audit(string Note);
public sealed record LegacyDeposit(int Cents);

public sealed record Opened(string Owner);
public sealed record Deposited(decimal Amount);
public sealed record Withdrawn(decimal Amount);
public sealed record Audited(string Note);
/// <summary>The old (v1) shape of ledger.deposited: cents as an integer.</summary>
public sealed record DepositedV1(int Cents);

public sealed record LedgerState(string? Owner, decimal Balance, int Operations);

/// <summary>A small bank-ledger aggregate the contract suite runs against.</summary>
public sealed class Ledger : Aggregate<LedgerState>
{
    public static readonly Ledger Definition = new();
    public override string Name => "Ledger";
    public override LedgerState InitialState => new(null, 0m, 0);

    public override Decision Decide(LedgerState state, object command) => command switch
    {
        Open when state.Owner is not null => Decision.Reject("Already open."),
        Open c => Decision.Raise(new Opened(c.Owner)),
        _ when state.Owner is null => Decision.Reject("The ledger is not open."),
        Deposit { Amount: <= 0 } => Decision.Reject("Amount must be positive."),
        Deposit c => Decision.Raise(new Deposited(c.Amount)),
        Withdraw c when c.Amount > state.Balance => Decision.Reject($"Insufficient funds: balance {state.Balance}, asked {c.Amount}."),
        Withdraw c => Decision.Raise(new Withdrawn(c.Amount)),
        Audit c => Decision.Raise(new Audited(c.Note)),
        LegacyDeposit c => Decision.Raise(new DepositedV1(c.Cents)),
        _ => Decision.Unhandled(command),
    };

    public override LedgerState Apply(LedgerState state, object @event) => @event switch
    {
        Opened e => state with { Owner = e.Owner, Operations = state.Operations + 1 },
        Deposited e => state with { Balance = state.Balance + e.Amount, Operations = state.Operations + 1 },
        DepositedV1 e => state with { Balance = state.Balance + e.Cents / 100m, Operations = state.Operations + 1 },
        Withdrawn e => state with { Balance = state.Balance - e.Amount, Operations = state.Operations + 1 },
        _ => state with { Operations = state.Operations + 1 },
    };
}

public static class LedgerTypes
{
    /// <summary>The current registry: ledger.deposited is at v2 (decimal amount) with an upcaster from v1 (cents).</summary>
    public static MessageTypeRegistry Current(bool withAudit = true)
    {
        var r = Commands(new MessageTypeRegistry())
            .Register<Opened>("ledger.opened")
            .Register<Deposited>("ledger.deposited", 2)
            .Register<Withdrawn>("ledger.withdrawn")
            .AddUpcaster("ledger.deposited", 1, v1 => new System.Text.Json.Nodes.JsonObject
            {
                ["amount"] = v1["cents"]!.GetValue<int>() / 100m,
            });
        if (withAudit) r.Register<Audited>("ledger.audited");
        return r;
    }

    /// <summary>The registry of an older release: ledger.deposited only exists as v1.</summary>
    public static MessageTypeRegistry Legacy() => Commands(new MessageTypeRegistry())
        .Register<Opened>("ledger.opened")
        .Register<DepositedV1>("ledger.deposited", 1)
        .Register<Withdrawn>("ledger.withdrawn")
        .Register<Audited>("ledger.audited");

    private static MessageTypeRegistry Commands(MessageTypeRegistry r) => r
        .Register<Open>("ledger.open")
        .Register<Deposit>("ledger.deposit")
        .Register<Withdraw>("ledger.withdraw")
        .Register<Audit>("ledger.audit")
        .Register<LegacyDeposit>("ledger.legacy-deposit");
}
