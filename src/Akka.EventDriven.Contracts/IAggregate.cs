namespace Akka.EventDriven;

/// <summary>The type-erased view of an <see cref="Aggregate{TState}"/> that the hosting actor works with.</summary>
public interface IAggregate
{
    /// <summary>See <see cref="Aggregate{TState}.Name"/>.</summary>
    string Name { get; }
    /// <summary>The CLR type of the state.</summary>
    Type StateType { get; }
    /// <summary>See <see cref="Aggregate{TState}.InitialState"/>.</summary>
    object InitialState { get; }
    /// <summary>See <see cref="Aggregate{TState}.Apply"/>.</summary>
    object Apply(object state, object @event);
    /// <summary>See <see cref="Aggregate{TState}.Decide"/>.</summary>
    Decision Decide(object state, object command);
    /// <summary>See <see cref="Aggregate{TState}.Tags"/>.</summary>
    IEnumerable<string> Tags(object @event);
}
