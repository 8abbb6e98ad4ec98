namespace Akka.EventDriven.EventBus.Internal;

/// <summary>The journaled log of one durable topic partition or queue: an aggregate whose events are the messages, so
/// publishes get the aggregates' single writer, group commit and durable-before-acknowledged for free.</summary>
internal sealed class BusLog : Aggregate<BusLogState>
{
    public const string AggregateName = "EdBusLog";
    public static readonly BusLog Definition = new();

    public override string Name => AggregateName;
    public override BusLogState InitialState => new(0);

    public override Decision Decide(BusLogState state, object command) => command switch
    {
        AppendToLog a => Decision.Raise(a.Message),
        _ => Decision.Unhandled(command),
    };

    public override BusLogState Apply(BusLogState state, object @event) => new(state.Count + 1);
}
