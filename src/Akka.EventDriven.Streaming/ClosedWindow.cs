namespace Akka.EventDriven.Streaming;

/// <summary>A closed window of a pipeline as <see cref="PipelineRegistry"/> keeps it for operators' tools: its bounds,
/// its key as text, its value as a number and how many elements it held.</summary>
/// <param name="Key">The window's key as text (<c>ToString</c>, at most 200 characters); null for global windows.</param>
/// <param name="Start">The inclusive start of the window.</param>
/// <param name="End">The exclusive end of the window.</param>
/// <param name="Value">The aggregator's result when it is a number (a count, a sum, an average; a nullable number
/// with a value); null otherwise, when tools show <see cref="Count"/> instead.</param>
/// <param name="Count">How many elements the window held.</param>
public sealed record ClosedWindow(string? Key, DateTimeOffset Start, DateTimeOffset End, double? Value, long Count)
{
    internal static ClosedWindow From<TKey, TValue>(WindowResult<TKey, TValue> r)
    {
        var key = typeof(TKey) == typeof(NotUsed) ? null : r.Key?.ToString();
        if (key is { Length: > 200 }) key = key[..200];
        double? value = (object?)r.Value switch
        {
            long l => l, int i => i, short s => s, byte b => b, ulong u => u, uint u => u,
            double d => d, float f => f, decimal m => (double)m,
            _ => null,
        };
        return new ClosedWindow(key, r.Start, r.End, value, r.Count);
    }
}

/// <summary>The latest closed windows of one pipeline's window operator (the last one defined, when it has several),
/// at most <see cref="Capacity"/>, oldest first. Written by the stream's thread, read by tools.</summary>
internal sealed class WindowLog
{
    public const int Capacity = 60;
    private readonly Queue<ClosedWindow> _windows = new();
    private int _operator;

    public WindowSpec? Spec { get; private set; }
    public string? Unit { get; private set; }

    /// <summary>Called as a window operator is added to the pipeline; returns its number, which <see cref="Add"/> checks
    /// so only the last operator's windows are kept.</summary>
    public int Describe(WindowSpec spec, string? unit)
    {
        lock (_windows)
        {
            (Spec, Unit) = (spec, unit);
            _windows.Clear();
            return ++_operator;
        }
    }

    public void Add(int @operator, ClosedWindow window)
    {
        lock (_windows)
        {
            if (@operator != _operator) return;
            _windows.Enqueue(window);
            if (_windows.Count > Capacity) _windows.Dequeue();
        }
    }

    public IReadOnlyList<ClosedWindow> Latest()
    {
        lock (_windows) return _windows.ToArray();
    }
}
