using Akka.EventDriven.Streaming;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Akka.TestKit;

namespace Akka.EventDriven.TestKit;

/// <summary>
/// Runs a pipeline's operators (the DSL between <c>From</c> and <c>To</c>) between an Akka.Streams.TestKit publisher
/// probe and subscriber probe, on a <see cref="VirtualClock"/>, so a test sends elements, moves time and asserts on
/// what the pipeline emits: windows close on <see cref="PipelineProbe{TIn,TOut}.AdvanceAsync"/>, without waiting.
/// Pass the clock the build function gets to the window operators' <see cref="WindowOptions{T}.Clock"/>.
/// </summary>
/// <example><code>
/// await using var probe = PipelineProbe.Start&lt;Reading, WindowResult&lt;NotUsed, long&gt;&gt;(this, (p, clock) =&gt; p
///     .Where(r =&gt; r.Value &gt; 0)
///     .TumblingWindow(TimeSpan.FromMinutes(1), Aggregators.Count&lt;Reading&gt;(), new WindowOptions&lt;Reading&gt; { Clock = clock }));
/// probe.Send(new Reading(1), new Reading(2));
/// await probe.AdvanceAsync(TimeSpan.FromMinutes(1));
/// await probe.ExpectNextAsync(w =&gt; w.Value == 2, "a window of 2");
/// </code></example>
public static class PipelineProbe
{
    /// <summary>Materializes <paramref name="pipeline"/> between a publisher probe of <typeparamref name="TIn"/> and a
    /// subscriber probe, on the actor system of <paramref name="kit"/> (the test's Akka TestKit).</summary>
    /// <param name="kit">The test's TestKit.</param>
    /// <param name="pipeline">The operators under test; it gets the virtual clock to pass to window operators.</param>
    /// <param name="clock">Default: a clock at 2026-01-01T00:00:00Z.</param>
    /// <param name="name">The pipeline's name.</param>
    public static PipelineProbe<TIn, TOut> Start<TIn, TOut>(TestKitBase kit,
        Func<PipelineBuilder<TIn>, VirtualClock, PipelineBuilder<TOut>> pipeline, VirtualClock? clock = null, string name = "pipeline-under-test")
    {
        ArgumentNullException.ThrowIfNull(kit);
        ArgumentNullException.ThrowIfNull(pipeline);
        clock ??= new VirtualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var source = kit.CreatePublisherProbe<TIn>();
        var sink = kit.CreateSubscriberProbe<TOut>();
        var materializer = kit.Sys.Materializer();
        pipeline(Pipeline.Create(name).From(Source.FromPublisher(source)), clock).AsSource()
            .RunWith(Sink.FromSubscriber(sink), materializer);
        var subscription = sink.ExpectSubscription();
        subscription.Request(long.MaxValue / 2);
        return new PipelineProbe<TIn, TOut>(name, source, sink, clock, materializer);
    }
}

/// <summary>A pipeline under test: send elements, move the virtual clock, expect outputs (see <see cref="PipelineProbe"/>).</summary>
/// <typeparam name="TIn">What the pipeline reads.</typeparam>
/// <typeparam name="TOut">What it emits.</typeparam>
public sealed class PipelineProbe<TIn, TOut> : IAsyncDisposable
{
    private readonly List<TOut> _emitted = new();
    private readonly ActorMaterializer _materializer;
    private bool _completed;

    internal PipelineProbe(string name, TestPublisher.Probe<TIn> source, TestSubscriber.ManualProbe<TOut> sink, VirtualClock clock,
        ActorMaterializer materializer)
    {
        Name = name;
        Source = source;
        Sink = sink;
        Clock = clock;
        _materializer = materializer;
    }

    /// <summary>The pipeline's name.</summary>
    public string Name { get; }

    /// <summary>The Akka.Streams.TestKit publisher feeding the pipeline.</summary>
    public TestPublisher.Probe<TIn> Source { get; }

    /// <summary>The Akka.Streams.TestKit subscriber reading its output (all demand is requested up front).</summary>
    public TestSubscriber.ManualProbe<TOut> Sink { get; }

    /// <summary>The virtual clock the pipeline's windows read.</summary>
    public VirtualClock Clock { get; }

    /// <summary>Everything the pipeline emitted so far, in order.</summary>
    public IReadOnlyList<TOut> Emitted => _emitted;

    /// <summary>Default wait for an output: 10 s.</summary>
    public TimeSpan DefaultTimeout { get; set; } = Wait.Default;

    /// <summary>Sends <paramref name="elements"/> into the pipeline, in order (waiting for its demand).</summary>
    public PipelineProbe<TIn, TOut> Send(params TIn[] elements)
    {
        foreach (var e in elements) Source.SendNext(e);
        return this;
    }

    /// <summary>Moves the virtual clock by <paramref name="by"/> once at least <paramref name="stagesOnClock"/> stages read it
    /// (they subscribe when they start), so open windows whose time passed close now.</summary>
    public async Task<PipelineProbe<TIn, TOut>> AdvanceAsync(TimeSpan by, int stagesOnClock = 1)
    {
        try
        {
            await Clock.WaitForSubscribersAsync(stagesOnClock, TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException e)
        {
            throw new EventDrivenAssertionException(
                $"Pipeline '{Name}': no window stage reads the probe's virtual clock ({e.Message}). Pass the clock the build function gets " +
                "as WindowOptions.Clock.", e);
        }
        Clock.Advance(by);
        return this;
    }

    /// <summary>The next output, whatever it is.</summary>
    public async Task<TOut> ExpectNextAsync(TimeSpan? timeout = null) => await NextAsync("an output", timeout);

    /// <summary>The next output equals <paramref name="expected"/>.</summary>
    public async Task<TOut> ExpectNextAsync(TOut expected, TimeSpan? timeout = null)
    {
        var next = await NextAsync($"{expected}", timeout);
        if (!Equals(next, expected))
            throw new EventDrivenAssertionException($"Pipeline '{Name}': expected output {expected}\nbut it emitted   {next}{Before()}");
        return next;
    }

    /// <summary>The next output satisfies <paramref name="predicate"/> (named by <paramref name="description"/> in the failure).</summary>
    public async Task<TOut> ExpectNextAsync(Func<TOut, bool> predicate, string? description = null, TimeSpan? timeout = null)
    {
        var what = description ?? "an output that satisfies the predicate";
        var next = await NextAsync(what, timeout);
        if (!predicate(next))
            throw new EventDrivenAssertionException($"Pipeline '{Name}': expected {what}\nbut it emitted {next}{Before()}");
        return next;
    }

    /// <summary>The pipeline emits nothing for <paramref name="duration"/> (of real time: the virtual clock does not move).</summary>
    public async Task ExpectNoNextAsync(TimeSpan duration)
    {
        var e = await EventAsync(duration);
        switch (e)
        {
            case null: return;
            case TestSubscriber.OnNext<TOut> next:
                _emitted.Add(next.Element);
                throw new EventDrivenAssertionException($"Pipeline '{Name}': expected no output for {duration}, but it emitted {next.Element}{Before()}");
            default:
                throw Ended(e, "no output");
        }
    }

    /// <summary>Completes the input and returns every output emitted until the pipeline completed (open windows are
    /// flushed on completion); fails when the pipeline fails instead.</summary>
    public async Task<IReadOnlyList<TOut>> CompleteAsync(TimeSpan? timeout = null)
    {
        Source.SendComplete();
        var rest = new List<TOut>();
        while (true)
        {
            var e = await EventAsync(timeout ?? DefaultTimeout)
                    ?? throw new EventDrivenAssertionException($"Pipeline '{Name}': the input completed, but the pipeline did not complete within {timeout ?? DefaultTimeout}.");
            switch (e)
            {
                case TestSubscriber.OnNext<TOut> next:
                    _emitted.Add(next.Element);
                    rest.Add(next.Element);
                    break;
                case TestSubscriber.OnComplete:
                    _completed = true;
                    return rest;
                default:
                    throw Ended(e, "completion");
            }
        }
    }

    /// <summary>Cancels the pipeline (if still running) and shuts its materializer down.</summary>
    public ValueTask DisposeAsync()
    {
        if (!_completed)
        {
            try { Source.SendComplete(); }
            catch (Exception) { /* the stream already ended (failed or cancelled): nothing to complete */ }
        }
        _materializer.Shutdown();
        return ValueTask.CompletedTask;
    }

    private async Task<TOut> NextAsync(string what, TimeSpan? timeout)
    {
        var limit = timeout ?? DefaultTimeout;
        var e = await EventAsync(limit);
        switch (e)
        {
            case TestSubscriber.OnNext<TOut> next:
                _emitted.Add(next.Element);
                return next.Element;
            case null:
                throw new EventDrivenAssertionException(
                    $"Pipeline '{Name}': expected {what} within {limit}, but it emitted nothing (virtual clock at {Clock.UtcNow:O}){Before(includeLast: true)}");
            default:
                throw Ended(e, what);
        }
    }

    private async Task<TestSubscriber.ISubscriberEvent?> EventAsync(TimeSpan within)
    {
        try
        {
            return await Sink.ExpectEventAsync(within);
        }
        catch (Exception e) when (e is not EventDrivenAssertionException)
        {
            return null;   // the probe's own timeout: nothing arrived
        }
    }

    private EventDrivenAssertionException Ended(TestSubscriber.ISubscriberEvent e, string what) => e switch
    {
        TestSubscriber.OnError error => new($"Pipeline '{Name}': expected {what}, but the pipeline failed: {error.Cause.GetType().Name}: {error.Cause.Message}{Before(includeLast: true)}", error.Cause),
        TestSubscriber.OnComplete => new($"Pipeline '{Name}': expected {what}, but the pipeline completed{Before(includeLast: true)}"),
        _ => new($"Pipeline '{Name}': expected {what}, but the probe saw {e}{Before(includeLast: true)}"),
    };

    /// <summary>The outputs before the one just reported (all of them when <paramref name="includeLast"/>).</summary>
    private string Before(bool includeLast = false)
    {
        var earlier = includeLast ? _emitted : _emitted.Take(_emitted.Count - 1).ToList();
        return earlier.Count == 0 ? "" : $"\nEmitted before: {string.Join(", ", earlier)}";
    }
}
