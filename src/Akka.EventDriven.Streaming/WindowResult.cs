namespace Akka.EventDriven.Streaming;

/// <summary>A closed window's result: its key, bounds [<see cref="Start"/>, <see cref="End"/>) and value.</summary>
/// <typeparam name="TKey">The window key (<see cref="NotUsed"/> for global windows).</typeparam>
/// <typeparam name="TValue">The aggregated value.</typeparam>
/// <param name="Key">The key the window belongs to.</param>
/// <param name="Start">The inclusive start of the window.</param>
/// <param name="End">The exclusive end of the window (for a session: last element time + gap).</param>
/// <param name="Value">The aggregator's result.</param>
/// <param name="Count">How many elements the window held.</param>
public sealed record WindowResult<TKey, TValue>(TKey Key, DateTimeOffset Start, DateTimeOffset End, TValue Value, long Count);
