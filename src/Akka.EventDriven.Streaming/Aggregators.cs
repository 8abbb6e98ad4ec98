namespace Akka.EventDriven.Streaming;

/// <summary>The built-in aggregators, and <see cref="Create{TIn,TAcc,TResult}"/> for user-defined ones.</summary>
public static class Aggregators
{
    /// <summary>The number of elements in the window.</summary>
    public static Aggregator<T, long, long> Count<T>() => CountOf<T>.Instance;

    /// <summary>The sum of <paramref name="selector"/> over the window.</summary>
    public static Aggregator<T, double, double> Sum<T>(Func<T, double> selector) =>
        new(static () => 0d, (acc, x) => acc + selector(x), static (a, b) => a + b, static acc => acc);

    /// <summary>The mean of <paramref name="selector"/> over the window (0 for an empty window).</summary>
    public static Aggregator<T, (double Sum, long Count), double> Average<T>(Func<T, double> selector) =>
        new(static () => (0d, 0L), (acc, x) => (acc.Sum + selector(x), acc.Count + 1),
            static (a, b) => (a.Sum + b.Sum, a.Count + b.Count), static acc => acc.Count == 0 ? 0d : acc.Sum / acc.Count);

    /// <summary>The smallest <paramref name="selector"/> value in the window (null for an empty window).</summary>
    public static Aggregator<T, TValue?, TValue?> Min<T, TValue>(Func<T, TValue> selector) where TValue : struct, IComparable<TValue> =>
        new(static () => null, (acc, x) => { var v = selector(x); return acc is { } a && a.CompareTo(v) <= 0 ? a : v; },
            static (a, b) => a is null ? b : b is null ? a : a.Value.CompareTo(b.Value) <= 0 ? a : b, static acc => acc);

    /// <summary>The largest <paramref name="selector"/> value in the window (null for an empty window).</summary>
    public static Aggregator<T, TValue?, TValue?> Max<T, TValue>(Func<T, TValue> selector) where TValue : struct, IComparable<TValue> =>
        new(static () => null, (acc, x) => { var v = selector(x); return acc is { } a && a.CompareTo(v) >= 0 ? a : v; },
            static (a, b) => a is null ? b : b is null ? a : a.Value.CompareTo(b.Value) >= 0 ? a : b, static acc => acc);

    /// <summary>The number of distinct <paramref name="selector"/> values in the window (exact: it keeps a set per window).</summary>
    public static Aggregator<T, HashSet<TValue>, long> DistinctCount<T, TValue>(Func<T, TValue> selector) =>
        new(static () => new HashSet<TValue>(), (acc, x) => { acc.Add(selector(x)); return acc; },
            static (a, b) => { a.UnionWith(b); return a; }, static acc => acc.Count);

    /// <summary>The <paramref name="k"/> most frequent <paramref name="selector"/> values in the window with their counts,
    /// most frequent first (ties in first-seen order).</summary>
    public static Aggregator<T, Dictionary<TValue, long>, IReadOnlyList<KeyValuePair<TValue, long>>> TopK<T, TValue>(int k, Func<T, TValue> selector)
        where TValue : notnull
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), "k must be positive.");
        return new(static () => new Dictionary<TValue, long>(),
            (acc, x) =>
            {
                var v = selector(x);
                acc[v] = acc.TryGetValue(v, out var n) ? n + 1 : 1;
                return acc;
            },
            static (a, b) =>
            {
                foreach (var (v, n) in b) a[v] = a.TryGetValue(v, out var m) ? m + n : n;
                return a;
            },
            acc => acc.OrderByDescending(p => p.Value).Take(k).ToList());
    }

    /// <summary>A user-defined aggregator: <paramref name="seed"/>, <paramref name="add"/>, <paramref name="merge"/>, <paramref name="result"/>.</summary>
    public static Aggregator<TIn, TAcc, TResult> Create<TIn, TAcc, TResult>(Func<TAcc> seed, Func<TAcc, TIn, TAcc> add,
        Func<TAcc, TAcc, TAcc> merge, Func<TAcc, TResult> result) => new(seed, add, merge, result);

    private static class CountOf<T>
    {
        public static readonly Aggregator<T, long, long> Instance =
            new(static () => 0L, static (acc, _) => acc + 1, static (a, b) => a + b, static acc => acc);
    }
}
