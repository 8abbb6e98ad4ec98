using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Streams;
using Decider = Akka.Streams.Supervision.Decider;
using Directive = Akka.Streams.Supervision.Directive;

namespace Akka.EventDriven.Streaming;

/// <summary>
/// Runs named pipelines:
/// each on its own materialization, supervised as its <see cref="PipelineDefinition.Supervision"/> says, with
/// throughput and error counts in <see cref="GetMetrics"/> and in System.Diagnostics.Metrics (meter
/// <c>Akka.EventDriven.Streaming</c>: <c>eventdriven.pipeline.elements.in</c>, <c>.elements.out</c>, <c>.errors</c>,
/// <c>.restarts</c>, tagged <c>pipeline</c>). Dispose to stop every pipeline.
/// </summary>
public sealed class StreamProcessor : IAsyncDisposable
{
    /// <summary>The meter name of the pipeline metrics.</summary>
    public const string MeterName = "Akka.EventDriven.Streaming";

    private static readonly ConcurrentDictionary<PipelineCounters, byte> Live = new();
    private static readonly Meter Meter = CreateMeter();

    private readonly ConcurrentDictionary<string, Entry> _pipelines = new();
    private readonly ActorMaterializer _materializer;
    private readonly TimeSpan _stopTimeout;
    private readonly PipelineRegistry _registry;

    /// <summary>A processor whose pipelines run on <paramref name="system"/> (and are listed in its <see cref="PipelineRegistry"/>).</summary>
    public StreamProcessor(ActorSystem system, TimeSpan? stopTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        _registry = PipelineRegistry.Get(system);
        _materializer = ActorMaterializer.Create(system, ActorMaterializerSettings.Create(system), "pipelines");
        _stopTimeout = stopTimeout ?? StreamingConfig.StopTimeout(system);
    }

    /// <summary>The names of the defined pipelines.</summary>
    public IReadOnlyCollection<string> Pipelines => _pipelines.Keys.ToList();

    /// <summary>Registers a pipeline. Its name must be new.</summary>
    public void DefinePipeline(PipelineDefinition pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        if (!_pipelines.TryAdd(pipeline.Name, new Entry(pipeline)))
            throw new InvalidOperationException($"A pipeline named '{pipeline.Name}' is already defined.");
        Live.TryAdd(pipeline.Counters, 0);
        _registry.Add(this, pipeline.Name);
    }

    /// <summary>Starts the named pipeline; completes once it is materialized. Starting a
    /// running pipeline does nothing.</summary>
    public Task StartAsync(string name)
    {
        var entry = Get(name);
        lock (entry)
        {
            if (entry.Run is { } r && !r.Finished.IsCompleted) return Task.CompletedTask;
            entry.StartedAt ??= DateTime.UtcNow;
            var run = new Run();
            entry.Run = run;
            entry.Pipeline.Counters.Reset();
            run.Finished = RunLoopAsync(entry, run);
        }
        return Task.CompletedTask;
    }

    /// <summary>Stops the named pipeline gracefully: the source stops, elements in flight reach the sink (windows emit
    /// what they hold), then the run ends; after the stop timeout it is aborted.</summary>
    public async Task StopAsync(string name)
    {
        var entry = Get(name);
        Run? run;
        lock (entry) run = entry.Run;
        if (run is null) return;
        run.StopRequested = true;
        run.Stop.Cancel();
        entry.Pipeline.Counters.Stop(null);
        var finished = await Task.WhenAny(run.Finished, Task.Delay(_stopTimeout)).ConfigureAwait(false);
        if (finished != run.Finished)
        {
            entry.Pipeline.Counters.Stop(new TimeoutException($"Pipeline '{name}' did not stop within {_stopTimeout}."));
            await run.Finished.ConfigureAwait(false);
        }
    }

    /// <summary>Completes when the named pipeline's current run ends for good (completed, stopped or failed without
    /// restart).</summary>
    public Task WhenTerminated(string name)
    {
        var entry = Get(name);
        lock (entry) return entry.Run?.Finished ?? Task.CompletedTask;
    }

    /// <summary>The named pipeline's state.</summary>
    public PipelineStatus GetStatus(string name) => Get(name).Status;

    /// <summary>The named pipeline's counters now.</summary>
    public PipelineMetrics GetMetrics(string name)
    {
        var e = Get(name);
        var c = e.Pipeline.Counters;
        var seconds = e.StartedAt is { } at ? (DateTime.UtcNow - at).TotalSeconds : 0;
        var elementsIn = c.ReadIn;
        return new PipelineMetrics(name, e.Status, elementsIn, c.ReadOut, Interlocked.Read(ref c.Errors), Interlocked.Read(ref c.Restarts),
            seconds > 0 ? elementsIn / seconds : 0, e.LastError);
    }

    /// <summary>The named pipeline's window log (its latest closed windows).</summary>
    internal WindowLog GetWindows(string name) => Get(name).Pipeline.Counters.Windows;

    /// <summary>Stops every pipeline and the materializer.</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_pipelines.Keys.Select(StopAsync)).ConfigureAwait(false);
        foreach (var e in _pipelines.Values) Live.TryRemove(e.Pipeline.Counters, out _);
        _registry.Remove(this);
        _materializer.Shutdown();
    }

    private Entry Get(string name) =>
        _pipelines.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"No pipeline named '{name}' is defined.");

    private async Task RunLoopAsync(Entry entry, Run run)
    {
        var pipeline = entry.Pipeline;
        var counters = pipeline.Counters;
        var supervision = pipeline.Supervision;
        Decider decider = supervision.Mode == SupervisionMode.Resume
            ? ex => { Interlocked.Increment(ref counters.Errors); entry.LastError = ex.Message; return Directive.Resume; }
            : ex => Directive.Stop;
        var backoff = supervision.MinBackoff;
        while (true)
        {
            var started = DateTime.UtcNow;
            Task done;
            try
            {
                var graph = pipeline.Graph().WithAttributes(ActorAttributes.CreateSupervisionStrategy(decider));
                done = graph.Run(_materializer);
                entry.Status = PipelineStatus.Running;
            }
            catch (Exception ex)
            {
                done = Task.FromException(ex);
            }
            try
            {
                await done.ConfigureAwait(false);
                entry.Status = run.StopRequested ? PipelineStatus.Stopped : PipelineStatus.Completed;
                return;
            }
            catch (Exception ex)
            {
                if (run.StopRequested)
                {
                    entry.Status = PipelineStatus.Stopped;
                    return;
                }
                Interlocked.Increment(ref counters.Errors);
                entry.LastError = ex.Message;
                if (supervision.Mode != SupervisionMode.Restart)
                {
                    entry.Status = PipelineStatus.Failed;
                    return;
                }
            }
            if (DateTime.UtcNow - started > supervision.MaxBackoff) backoff = supervision.MinBackoff;
            entry.Status = PipelineStatus.Restarting;
            try
            {
                await Task.Delay(backoff, run.Stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                entry.Status = PipelineStatus.Stopped;
                return;
            }
            backoff = TimeSpan.FromTicks(Math.Min(supervision.MaxBackoff.Ticks, Math.Max(1, backoff.Ticks * 2)));
            Interlocked.Increment(ref counters.Restarts);
        }
    }

    private static Meter CreateMeter()
    {
        var meter = new Meter(MeterName);
        meter.CreateObservableCounter("eventdriven.pipeline.elements.in", () => Observe(c => c.ReadIn), "{element}", "Elements the pipeline's source emitted.");
        meter.CreateObservableCounter("eventdriven.pipeline.elements.out", () => Observe(c => c.ReadOut), "{element}", "Elements that reached the pipeline's sink.");
        meter.CreateObservableCounter("eventdriven.pipeline.errors", () => Observe(c => Interlocked.Read(ref c.Errors)), "{error}", "Failed elements and failed runs.");
        meter.CreateObservableCounter("eventdriven.pipeline.restarts", () => Observe(c => Interlocked.Read(ref c.Restarts)), "{restart}", "Restarts after failures.");
        return meter;
    }

    private static IEnumerable<Measurement<long>> Observe(Func<PipelineCounters, long> read) =>
        Live.Keys.Select(c => new Measurement<long>(read(c), new KeyValuePair<string, object?>("pipeline", c.Name))).ToList();

    /// <summary>Touches the meter so it exists before the first pipeline (listeners enable instruments by meter).</summary>
    internal static string EnsureMeter() => Meter.Name;

    private sealed class Entry(PipelineDefinition pipeline)
    {
        public readonly PipelineDefinition Pipeline = pipeline;
        public volatile Run? Run;
        public volatile PipelineStatus Status = PipelineStatus.Defined;
        public volatile string? LastError;
        public DateTime? StartedAt;
    }

    private sealed class Run
    {
        public readonly CancellationTokenSource Stop = new();
        public volatile bool StopRequested;
        public Task Finished = Task.CompletedTask;
    }
}
