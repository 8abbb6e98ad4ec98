using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Supervision;
using Decider = Akka.Streams.Supervision.Decider;
using Directive = Akka.Streams.Supervision.Directive;

namespace Akka.EventDriven.Streaming;

/// <summary>A pipeline's counters at one moment.</summary>
/// <param name="Name">The pipeline.</param>
/// <param name="Status">Its state.</param>
/// <param name="ElementsIn">Elements its source emitted (all runs).</param>
/// <param name="ElementsOut">Elements that reached its sink (all runs).</param>
/// <param name="Errors">Failures: elements dropped under Resume, plus failed runs.</param>
/// <param name="Restarts">Restarts after failures.</param>
/// <param name="ElementsInPerSecond">ElementsIn over the time since the first start (0 before).</param>
/// <param name="LastError">The most recent failure, if any.</param>
public sealed record PipelineMetrics(string Name, PipelineStatus Status, long ElementsIn, long ElementsOut, long Errors, long Restarts,
    double ElementsInPerSecond, string? LastError);

/// <summary>Counters written by the stream's own thread with plain stores (one writer) and read with volatile loads.</summary>
internal sealed class PipelineCounters(string name)
{
    public readonly string Name = name;
    public long In;
    public long Out;
    public long Errors;
    public long Restarts;
    public readonly WindowLog Windows = new();
    private readonly object _gate = new();
    private IPipelineControl? _control;
    private Exception? _stopRequested;
    private bool _stopping;

    /// <summary>Called by the running head stage; a stop requested before it started applies at once.</summary>
    public void Attach(IPipelineControl control)
    {
        lock (_gate)
        {
            _control = control;
            if (_stopping) control.Stop(_stopRequested);
        }
    }

    public void Detach(IPipelineControl control)
    {
        lock (_gate)
            if (ReferenceEquals(_control, control)) _control = null;
    }

    /// <summary>Arms (or clears) the stop request for the next and current materialization.</summary>
    public void Reset()
    {
        lock (_gate) (_stopping, _stopRequested) = (false, null);
    }

    public void Stop(Exception? abort)
    {
        lock (_gate)
        {
            (_stopping, _stopRequested) = (true, abort);
            _control?.Stop(abort);
        }
    }

    public long ReadIn => Volatile.Read(ref In);
    public long ReadOut => Volatile.Read(ref Out);
}
