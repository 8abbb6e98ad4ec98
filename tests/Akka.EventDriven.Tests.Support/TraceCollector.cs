using System.Collections.Concurrent;
using System.Diagnostics;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// Records the Akka.EventDriven activities of the traces a test starts itself (<see cref="StartRoot"/>), and only
/// those: listeners are process-wide and specs run in parallel, so a trace of another spec is not sampled (its
/// activities are never created, and nothing is stored for them).
/// </summary>
public sealed class TraceCollector : IDisposable
{
    public const string TestSourceName = "Akka.EventDriven.Tests";
    private static readonly ActivitySource TestSource = new(TestSourceName);

    private readonly ActivityListener _listener;
    private readonly ConcurrentDictionary<ActivityTraceId, bool> _traces = new();
    private readonly ConcurrentQueue<Activity> _stopped = new();

    public TraceCollector()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == TestSourceName || s.Name.StartsWith("Akka.EventDriven.", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> o) =>
                o.Source.Name == TestSourceName || _traces.ContainsKey(o.Parent.TraceId) || LinksOurs(o.Links)
                    ? ActivitySamplingResult.AllDataAndRecorded
                    : ActivitySamplingResult.None,
            ActivityStopped = a => { if (_traces.ContainsKey(a.TraceId) || LinksOurs(a.Links)) _stopped.Enqueue(a); },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    private bool LinksOurs(IEnumerable<ActivityLink>? links) => links is not null && links.Any(l => _traces.ContainsKey(l.Context.TraceId));

    /// <summary>A new root activity (a trace of this test), made current; stands for an HTTP request or a caller's span.</summary>
    public Activity StartRoot(string name = "test request")
    {
        var root = TestSource.StartActivity(name, ActivityKind.Server, parentContext: default)
                   ?? throw new InvalidOperationException("The test source is not sampled.");
        _traces[root.TraceId] = true;
        return root;
    }

    /// <summary>The stopped activities of this test's traces.</summary>
    public IReadOnlyList<Activity> Stopped => _stopped.ToArray();

    /// <summary>The stopped activities of <paramref name="source"/> whose name starts with <paramref name="namePrefix"/>.</summary>
    public IReadOnlyList<Activity> Of(string source, string namePrefix) =>
        Stopped.Where(a => a.Source.Name == source && a.DisplayName.StartsWith(namePrefix, StringComparison.Ordinal)).ToArray();

    public void Dispose() => _listener.Dispose();
}
