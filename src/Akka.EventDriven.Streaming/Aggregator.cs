namespace Akka.EventDriven.Streaming;

/// <summary>
/// A window aggregation: a seed accumulator, a fold of one element into it, a merge of two accumulators (session
/// windows merge when an event bridges two sessions) and the result read when the window closes. Accumulators may be
/// mutated in place and returned (a window owns its accumulator; it is never shared).
/// </summary>
/// <typeparam name="TIn">The element type.</typeparam>
/// <typeparam name="TAcc">The accumulator type.</typeparam>
/// <typeparam name="TResult">The result type.</typeparam>
public sealed class Aggregator<TIn, TAcc, TResult>
{
    /// <summary>Creates an aggregator from its four functions.</summary>
    public Aggregator(Func<TAcc> seed, Func<TAcc, TIn, TAcc> add, Func<TAcc, TAcc, TAcc> merge, Func<TAcc, TResult> result)
    {
        Seed = seed ?? throw new ArgumentNullException(nameof(seed));
        Add = add ?? throw new ArgumentNullException(nameof(add));
        Merge = merge ?? throw new ArgumentNullException(nameof(merge));
        Result = result ?? throw new ArgumentNullException(nameof(result));
    }

    /// <summary>A new, empty accumulator (one per window).</summary>
    public Func<TAcc> Seed { get; }

    /// <summary>Folds one element into an accumulator.</summary>
    public Func<TAcc, TIn, TAcc> Add { get; }

    /// <summary>Combines two accumulators (used when session windows merge).</summary>
    public Func<TAcc, TAcc, TAcc> Merge { get; }

    /// <summary>The window's value, read once when it closes.</summary>
    public Func<TAcc, TResult> Result { get; }
}
