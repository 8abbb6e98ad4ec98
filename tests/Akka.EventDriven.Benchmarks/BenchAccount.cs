using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.Benchmarks;

/// <summary>Benchmark command: deposit an amount.</summary>
public sealed record Deposit(long Amount);

/// <summary>Benchmark event: an amount was deposited.</summary>
public sealed record Deposited(long Amount, string Reference);

/// <summary>Benchmark state.</summary>
public sealed record BenchAccountState(long Balance, long Deposits)
{
    public static readonly BenchAccountState Empty = new(0, 0);
}

/// <summary>The benchmark-only aggregate: every Deposit raises one Deposited event.</summary>
public sealed class BenchAccount : Aggregate<BenchAccountState>
{
    public static readonly BenchAccount Definition = new();

    public override string Name => "BenchAccount";
    public override BenchAccountState InitialState => BenchAccountState.Empty;

    public override Decision Decide(BenchAccountState state, object command) => command switch
    {
        Deposit { Amount: <= 0 } => Decision.Reject("Amount must be positive."),
        Deposit d => Decision.Raise(new Deposited(d.Amount, "deposit-reference-0123456789")),
        _ => Decision.Unhandled(command),
    };

    public override BenchAccountState Apply(BenchAccountState state, object @event) => @event switch
    {
        Deposited e => new BenchAccountState(state.Balance + e.Amount, state.Deposits + 1),
        _ => state,
    };

    /// <summary>Registers the benchmark's message types.</summary>
    public static void Register(MessageTypeRegistry registry)
    {
        registry.Register<Deposit>("bench.deposit", 1);
        registry.Register<Deposited>("bench.deposited", 1);
        registry.Register<BenchAccountState>("bench.account-state", 1);
    }
}
