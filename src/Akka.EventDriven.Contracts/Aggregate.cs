namespace Akka.EventDriven;

/// <summary>
/// An event-sourced aggregate: an immutable state, a pure fold of events into that state (<see cref="Apply"/>)
/// and command handlers that raise events or reject the command (<see cref="Decide"/>).
/// One instance describes the aggregate <em>type</em>; the platform hosts one persistent entity per aggregate id
/// and calls these members with that entity's current state. Implementations must be stateless and thread-safe.
/// </summary>
/// <typeparam name="TState">The immutable state (a record is the natural choice).</typeparam>
/// <example>
/// <code>
/// public sealed class Counter : Aggregate&lt;int&gt;
/// {
///     public override string Name =&gt; "Counter";
///     public override int InitialState =&gt; 0;
///     public override int Apply(int state, object @event) =&gt; @event is Incremented i ? state + i.By : state;
///     public override Decision Decide(int state, object command) =&gt; command switch
///     {
///         Increment { By: &lt;= 0 } =&gt; Decision.Reject("By must be positive"),
///         Increment c =&gt; Decision.Raise(new Incremented(c.By)),
///         _ =&gt; Decision.Unhandled(command),
///     };
/// }
/// </code>
/// </example>
public abstract class Aggregate<TState> : IAggregate where TState : notnull
{
    /// <summary>The aggregate type name, e.g. <c>"Investigation"</c>: the sharding type name, the prefix of every
    /// persistence id (<c>Investigation-inv-123</c>) and the tag every event of this type is written with.
    /// Letters, digits and '_' only; it must never change once events are stored.</summary>
    public abstract string Name { get; }

    /// <summary>The state of an aggregate that has no events yet.</summary>
    public abstract TState InitialState { get; }

    /// <summary>Pure fold: the state after <paramref name="event"/>. Must not throw for any event this aggregate raised.</summary>
    public abstract TState Apply(TState state, object @event);

    /// <summary>Handles a command against the current state: raise events (<see cref="Decision.Raise(object[])"/>) or reject
    /// (<see cref="Decision.Reject"/>). Must be pure: the platform may call it again for the same command after a crash.</summary>
    public abstract Decision Decide(TState state, object command);

    /// <summary>Extra tags for an event besides the aggregate <see cref="Name"/>, which every event always gets.
    /// Default: none.</summary>
    public virtual IEnumerable<string> Tags(object @event) => [];

    Type IAggregate.StateType => typeof(TState);
    object IAggregate.InitialState => InitialState;
    object IAggregate.Apply(object state, object @event) => Apply((TState)state, @event);
    Decision IAggregate.Decide(object state, object command) => Decide((TState)state, command);
}
