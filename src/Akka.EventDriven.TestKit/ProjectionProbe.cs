using Akka.EventDriven.Projections;

namespace Akka.EventDriven.TestKit;

/// <summary>
/// Waits until a projection has handled every event in the journal at the time of the call (its committed offset
/// reached the journal's current end), then asserts on the read model. A failed or stopped projection fails the wait
/// at once, with its last error.
/// </summary>
/// <example><code>
/// var probe = node.ProjectionProbe(projection);
/// await probe.ExpectReadModelAsync(ct =&gt; CountActiveAsync(ct), 3);
/// </code></example>
public sealed class ProjectionProbe
{
    internal ProjectionProbe(Projection projection) => Projection = projection ?? throw new ArgumentNullException(nameof(projection));

    /// <summary>The projection.</summary>
    public Projection Projection { get; }

    /// <summary>Default wait for catching up: 30 s.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Waits until the projection committed every event written before the call; returns its status.</summary>
    public async Task<ProjectionStatus> CaughtUpAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        try
        {
            await Projection.WaitUntilCaughtUpAsync(limit);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            var status = await Projection.GetStatusAsync();
            throw new EventDrivenAssertionException(
                $"Projection {Projection.Id} did not catch up with the journal within {limit}: {e.Message} ({Describe(status)})", e);
        }
        return await Projection.GetStatusAsync();
    }

    /// <summary>Once caught up, runs <paramref name="assertion"/> on the read model (xUnit asserts, or any exception
    /// for a mismatch); a failure names the projection and where it stands.</summary>
    public async Task AssertReadModelAsync(Func<CancellationToken, Task> assertion, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(assertion);
        var status = await CaughtUpAsync(timeout);
        try
        {
            await assertion(CancellationToken.None);
        }
        catch (Exception e) when (e is not EventDrivenAssertionException)
        {
            throw new EventDrivenAssertionException(
                $"Read model of projection {Projection.Id} is not as expected after it caught up ({Describe(status)}): {e.Message}", e);
        }
    }

    /// <summary>Once caught up, <paramref name="query"/> on the read model returns <paramref name="expected"/>.</summary>
    public async Task<T> ExpectReadModelAsync<T>(Func<CancellationToken, Task<T>> query, T expected, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        var status = await CaughtUpAsync(timeout);
        var actual = await query(CancellationToken.None);
        if (!EqualityComparer<T>.Default.Equals(actual, expected) && !SameSequence(actual, expected))
            throw new EventDrivenAssertionException(
                $"Read model of projection {Projection.Id} after it caught up ({Describe(status)}): expected {Show(expected)}, actual {Show(actual)}");
        return actual;
    }

    private static bool SameSequence<T>(T a, T b) =>
        a is System.Collections.IEnumerable ea && b is System.Collections.IEnumerable eb && a is not string
        && ea.Cast<object?>().SequenceEqual(eb.Cast<object?>());

    private static string Show<T>(T value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        System.Collections.IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(x => x?.ToString() ?? "null")) + "]",
        _ => value.ToString() ?? "",
    };

    private static string Describe(ProjectionStatus s) =>
        $"{s.State}, offset {s.Offset} of journal offset {s.JournalOffset}, {s.EventsBehind} behind, {s.DeadLetters} dead-lettered" +
        (s.LastError is null ? "" : $", last error: {s.LastError}");
}
